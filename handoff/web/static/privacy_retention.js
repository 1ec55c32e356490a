/*
 * atende: retention periods and disposal runs (/privacidade/retencao; admins and the privacy officer).
 *
 * Data: GET/PUT /api/privacy/retention, GET/POST /api/privacy/disposal-runs. Session cookie +
 * `X-Requested-With: atende` (both via /static/lib/api.js). ES module (shared helpers: /static/lib/);
 * texts are assigned with textContent only.
 */
import { createApi, FORBIDDEN_TEXT } from "/static/lib/api.js";
import { $, announce as announceIn, el } from "/static/lib/dom.js";
import { dateTime } from "/static/lib/format.js";

const STATUS = { running: "Em andamento", done: "Concluída", failed: "Falhou (será retomada)" };
const ui = {
  status: $('[data-testid="retention-status"]'),
  error: $('[data-testid="retention-error"]'),
  form: $('[data-testid="policies-form"]'),
  rows: $('[data-testid="policies-rows"]'),
  runs: $('[data-testid="runs-rows"]'),
  runNow: $('[data-testid="run-now"]'),
  result: $('[data-testid="run-result"]')
};
function announce(text) { announceIn(ui.status, text); }
const api = createApi({ next: "/privacidade/retencao", forbiddenText: FORBIDDEN_TEXT });
const when = function (iso) { return dateTime(iso); };
let labels = {};

function showError(text) { ui.error.textContent = text || ""; ui.error.hidden = !text; }


function renderPolicies(policies) {
  labels = {};
  ui.rows.replaceChildren.apply(ui.rows, policies.map(function (p) {
    labels[p.category] = p.label;
    const keep = p.days === null;
    const days = el("input", { type: "number", min: String(p.min_days), step: "1", name: p.category,
      value: keep ? "" : String(p.days), disabled: keep, "aria-label": "Prazo em dias: " + p.label,
      "data-testid": "days-" + p.category });
    const keepBox = el("input", { type: "checkbox", checked: keep, "aria-label": "Manter sempre: " + p.label,
      "data-testid": "keep-" + p.category });
    keepBox.addEventListener("change", function () {
      days.disabled = keepBox.checked;
      if (!keepBox.checked && !days.value) days.value = String(p.default_days || p.min_days);
    });
    return el("tr", { "data-category": p.category }, [
      el("td", {}, [el("strong", { text: p.label }), el("div", { className: "muted", text: p.description })]),
      el("td", {}, [days]),
      el("td", {}, [keepBox]),
      el("td", { className: "muted", text: p.default_days === null ? "manter" : p.default_days + " dias" })
    ]);
  }));
}

function countsText(counts) {
  const keys = Object.keys(counts || {});
  if (!keys.length) return "nada a descartar";
  return keys.map(function (k) { return (labels[k] || k) + ": " + counts[k]; }).join("; ");
}

function renderRuns(runs) {
  if (!runs.length) {
    ui.runs.replaceChildren(el("tr", {}, [el("td", { colspan: "4", className: "muted",
      text: "Nenhuma execução ainda." })]));
    return;
  }
  ui.runs.replaceChildren.apply(ui.runs, runs.map(function (r) {
    return el("tr", { "data-testid": "run-row", "data-run-date": r.run_date }, [
      el("td", { text: r.run_date.split("-").reverse().join("/") }),
      el("td", { text: STATUS[r.status] || r.status }),
      el("td", { "data-testid": "run-counts", text: countsText(r.counts) }),
      el("td", { text: when(r.finished_at) })
    ]);
  }));
}

async function load() {
  try {
    const [policies, runs] = await Promise.all([api("GET", "/api/privacy/retention"),
      api("GET", "/api/privacy/disposal-runs")]);
    renderPolicies(policies.policies);
    renderRuns(runs.runs);
    showError("");
  } catch (e) { showError(e.message); }
}

ui.form.addEventListener("submit", async function (event) {
  event.preventDefault();
  const changes = {};
  let invalid = null;
  Array.prototype.forEach.call(ui.rows.querySelectorAll("tr[data-category]"), function (row) {
    const category = row.getAttribute("data-category");
    const keep = row.querySelector('input[type="checkbox"]').checked;
    const input = row.querySelector('input[type="number"]');
    if (keep) { changes[category] = null; return; }
    const value = Number(input.value);
    if (!input.value || !Number.isInteger(value) || value < 1) invalid = labels[category];
    changes[category] = value;
  });
  if (invalid) { showError("Informe um número inteiro de dias para «" + invalid + "»."); return; }
  try {
    const data = await api("PUT", "/api/privacy/retention", { policies: changes });
    renderPolicies(data.policies);
    showError("");
    announce("Prazos salvos.");
  } catch (e) { showError(e.message); }
});

ui.runNow.addEventListener("click", async function () {
  ui.runNow.disabled = true;
  announce("Descarte em andamento…");
  try {
    const data = await api("POST", "/api/privacy/disposal-runs");
    ui.result.hidden = false;
    ui.result.textContent = data.status === "running"
      ? "O descarte continua em segundo plano; atualize a página para ver o resultado."
      : "Descartados agora: " + countsText(data.disposed) + ".";
    announce("Descarte concluído.");
    showError("");
    renderRuns((await api("GET", "/api/privacy/disposal-runs")).runs);
  } catch (e) { showError(e.message); } finally { ui.runNow.disabled = false; }
});

load();
