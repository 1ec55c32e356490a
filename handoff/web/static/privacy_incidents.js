/*
 * atende: the incident register (/privacidade/incidentes; admins and the privacy officer).
 *
 * Data: GET/POST /api/privacy/incidents, PATCH /api/privacy/incidents/<id>. The ANPD deadline
 * (3 working days after detection) is computed by the hub. Session cookie + `X-Requested-With:
 * atende` (both via /static/lib/api.js). ES module (shared helpers: /static/lib/); texts are assigned
 * with textContent only.
 */
import { createApi, FORBIDDEN_TEXT } from "/static/lib/api.js";
import { $, announce as announceIn, el } from "/static/lib/dom.js";
import { dateTimeShortText } from "/static/lib/format.js";

const SEVERITY = { low: "Baixa", medium: "Média", high: "Alta" };
const STATUS = { open: "Aberto", notified: "Comunicado à ANPD", closed: "Encerrado" };
const ui = {
  status: $('[data-testid="incidents-status"]'),
  error: $('[data-testid="incidents-error"]'),
  form: $('[data-testid="incident-form"]'),
  rows: $('[data-testid="incident-rows"]')
};
function announce(text) { announceIn(ui.status, text); }
const api = createApi({ next: "/privacidade/incidentes", describe: function (status, code, message) {
  return code === "invalid_body" ? "Confira os campos obrigatórios (título, descrição, gravidade)."
    : (message || "Erro inesperado (" + status + ").");
}, forbiddenText: FORBIDDEN_TEXT });
const when = function (iso) { return dateTimeShortText(iso); };

function showError(text) { ui.error.textContent = text || ""; ui.error.hidden = !text; }
// A datetime-local value ("2026-12-04T10:30", the browser's zone) as ISO 8601 with its offset.
function isoFromLocal(value) {
  if (!value) return null;
  const d = new Date(value);
  return isNaN(d.getTime()) ? null : d.toISOString();
}


function actions(incident) {
  const out = [];
  function button(text, testid, changes, confirmText) {
    const b = el("button", { type: "button", className: "btn btn--ghost", "data-testid": testid, text: text });
    b.addEventListener("click", async function () {
      if (confirmText && !window.confirm(confirmText)) return;
      try {
        await api("PATCH", "/api/privacy/incidents/" + incident.id, changes);
        announce("Incidente atualizado.");
        showError("");
        await load();
      } catch (e) { showError(e.message); }
    });
    return b;
  }
  if (incident.status === "open") {
    out.push(button("Comunicado à ANPD", "mark-notified", { status: "notified" }));
  }
  if (!incident.subjects_notified_at && incident.status !== "closed") {
    out.push(button("Titulares comunicados", "mark-subjects", { subjects_notified_at: new Date().toISOString() }));
  }
  if (incident.status !== "closed") {
    out.push(button("Encerrar", "mark-closed", { status: "closed" }, "Encerrar este incidente?"));
  }
  return out;
}

function render(list) {
  if (!list.length) {
    ui.rows.replaceChildren(el("tr", {}, [el("td", { colspan: "6", className: "muted",
      text: "Nenhum incidente registrado." })]));
    return;
  }
  ui.rows.replaceChildren.apply(ui.rows, list.map(function (i) {
    const due = [el("span", { "data-testid": "anpd-due", text: when(i.anpd_due_at) })];
    if (i.overdue) due.push(" ", el("span", { className: "badge badge--overdue", "data-testid": "overdue",
      text: "Prazo vencido" }));
    const notices = [];
    if (i.anpd_notified_at) notices.push(el("div", { className: "muted", text: "ANPD: " + when(i.anpd_notified_at) }));
    if (i.subjects_notified_at) notices.push(el("div", { className: "muted",
      text: "Titulares: " + when(i.subjects_notified_at) }));
    return el("tr", { "data-testid": "incident-row", "data-id": String(i.id) }, [
      el("td", {}, [el("strong", { text: i.title }), el("div", { className: "muted", text: i.description })]),
      el("td", {}, [el("span", { className: "badge badge--" + i.severity, text: SEVERITY[i.severity] || i.severity })]),
      el("td", { text: when(i.detected_at) }),
      el("td", {}, due),
      el("td", {}, [el("span", { "data-testid": "incident-status", text: STATUS[i.status] || i.status })].concat(notices)),
      el("td", {}, actions(i))
    ]);
  }));
}

async function load() {
  try {
    render((await api("GET", "/api/privacy/incidents")).incidents);
  } catch (e) { showError(e.message); }
}

ui.form.addEventListener("submit", async function (event) {
  event.preventDefault();
  const f = ui.form.elements;
  const title = f.title.value.trim(), description = f.description.value.trim();
  if (!title || !description) { showError("Informe o título e o que aconteceu."); return; }
  const body = {
    title: title, description: description, severity: f.severity.value,
    data_categories: f.data_categories.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean)
  };
  const detected = isoFromLocal(f.detected_at.value), occurred = isoFromLocal(f.occurred_at.value);
  if (detected) body.detected_at = detected;
  if (occurred) body.occurred_at = occurred;
  if (f.subjects_estimate.value) body.subjects_estimate = Number(f.subjects_estimate.value);
  if (f.measures.value.trim()) body.measures = f.measures.value.trim();
  try {
    const created = await api("POST", "/api/privacy/incidents", body);
    ui.form.reset();
    showError("");
    announce("Incidente registrado. Prazo para comunicar a ANPD: " + when(created.anpd_due_at) + ".");
    await load();
  } catch (e) { showError(e.message); }
});

load();
