/*
 * atende: the audit viewer (/auditoria, admins and the privacy officer).
 *
 * Data: GET /api/audit (filters patient_id, staff_id, action, from, to; `before` pages by id) and
 * GET /api/audit.csv (the same filters plus the export reason) — both audited by the hub.
 * ES module (shared helpers: /static/lib/), no dependencies; texts are assigned with textContent only.
 */
import { createApi } from "/static/lib/api.js";
import { $, el } from "/static/lib/dom.js";
import { dateTime } from "/static/lib/format.js";

const ui = {
  filters: $('[data-testid="audit-filters"]'),
  exportForm: $('[data-testid="audit-export-form"]'),
  rows: $('[data-testid="audit-rows"]'),
  more: $('[data-testid="audit-more"]'),
  status: $('[data-testid="audit-status"]'),
  error: $('[data-testid="audit-error"]'),
  meName: $('[data-testid="me-name"]')
};
const S = { next: null };
const api = createApi({
  next: "/auditoria",
  describe: function (status, code, message) { return message || "erro " + status; }
});
const when = function (iso) { return dateTime(iso, ""); };

function showError(message) {
  ui.error.textContent = message || "";
  ui.error.hidden = !message;
}
function params() {
  const p = new URLSearchParams();
  ["patient_id", "staff_id", "action", "from", "to"].forEach(function (name) {
    const v = (ui.filters.elements.namedItem(name).value || "").trim();
    if (v) p.set(name, v);
  });
  return p;
}

function row(item) {
  const tr = el("tr", { "data-testid": "audit-row", "data-id": item.id });
  tr.append(el("td", { "data-col": "at" }, when(item.at)));
  const who = item.staff_name ? item.staff_name + " (#" + item.staff_id + ")" : (item.staff_id ? "#" + item.staff_id : "—");
  tr.append(el("td", { "data-col": "staff" }, who));
  tr.append(el("td", { "data-col": "action" }, item.action));
  tr.append(el("td", { "data-col": "subject" }, item.subject || ""));
  tr.append(el("td", { "data-col": "patient" }, item.patient_id === null ? "" : item.patient_id));
  tr.append(el("td", { "data-col": "reason" }, item.reason || ""));
  return tr;
}

async function load(append) {
  showError("");
  const p = params();
  if (append && S.next) p.set("before", String(S.next));
  ui.status.textContent = "Carregando…";
  try {
    const page = await api("GET", "/api/audit?" + p.toString());
    if (!append) ui.rows.replaceChildren();
    page.items.forEach(function (item) { ui.rows.append(row(item)); });
    S.next = page.next_before;
    ui.more.hidden = !S.next;
    const n = ui.rows.children.length;
    ui.status.textContent = n === 0 ? "Nenhum registro encontrado." : n + " registro(s) exibido(s).";
  } catch (e) {
    ui.status.textContent = "";
    showError(e.message);
  }
}

ui.filters.addEventListener("submit", function (ev) { ev.preventDefault(); load(false); });
$('[data-testid="audit-clear"]').addEventListener("click", function () { ui.filters.reset(); load(false); });
ui.more.addEventListener("click", function () { load(true); });
ui.exportForm.addEventListener("submit", function (ev) {
  ev.preventDefault();
  const reason = (ui.exportForm.elements.namedItem("reason").value || "").trim();
  if (reason.length < 3 || reason.length > 300) {
    showError("Informe o motivo da exportação (de 3 a 300 caracteres).");
    return;
  }
  showError("");
  const p = params();
  p.set("reason", reason);
  const a = el("a", { href: "/api/audit.csv?" + p.toString(), download: "" });
  document.body.append(a);
  a.click();
  a.remove();
  ui.status.textContent = "Exportação iniciada (registrada na auditoria).";
});
$('[data-testid="logout"]').addEventListener("click", async function () {
  try {
    await api("POST", "/api/auth/logout");
  } catch (e) { /* the cookie may be gone already */ }
  window.location.replace("/login");
});

api("GET", "/api/auth/me").then(function (me) { ui.meName.textContent = me.name; }).catch(function () {});
load(false);
