/*
 * atende: appointment reminder settings (/lembretes; managers and admins).
 *
 * Data: GET/PUT /api/reminders/rules, GET/PUT /api/reminders/texts, POST /api/reminders/preview,
 * POST /api/reminders/test. Session cookie + `X-Requested-With: atende` (via /static/lib/api.js).
 * ES module (shared helpers: /static/lib/); texts via textContent only.
 */
import { createApi, FORBIDDEN_TEXT } from "/static/lib/api.js";
import { $, announce as announceIn, el } from "/static/lib/dom.js";

const CHANNEL_NOTE = {
  whatsapp: "Dentro da janela de 24 horas: o texto com três botões. Fora dela sai o modelo aprovado (abaixo).",
  sms: "No SMS os botões viram opções numeradas; o paciente responde com o número.",
  email: "No e-mail vai o link de confirmação; as opções também aparecem numeradas."
};
const ui = {
  status: $('[data-testid="reminders-status"]'),
  error: $('[data-testid="reminders-error"]'),
  rules: $('[data-testid="rule-rows"]'),
  kind: $('[data-testid="kind"]'),
  origin: $('[data-testid="text-origin"]'),
  body: $('[data-testid="body"]'),
  counter: $('[data-testid="counter"]'),
  placeholders: $('[data-testid="placeholders"]'),
  save: $('[data-testid="save-text"]'),
  reset: $('[data-testid="reset-text"]'),
  test: $('[data-testid="send-test"]'),
  previewText: $('[data-testid="preview-text"]'),
  previewButtons: $('[data-testid="preview-buttons"]'),
  previewNote: $('[data-testid="preview-note"]'),
  template: $('[data-testid="template"]')
};
function announce(text) { announceIn(ui.status, text); }
const api = createApi({ next: "/lembretes", forbiddenText: FORBIDDEN_TEXT });
const state = { texts: [], builtIn: "", maxLength: 1000, dirty: false, timer: 0, seq: 0 };

function showError(text) { ui.error.textContent = text || ""; ui.error.hidden = !text; }


// --- schedules ------------------------------------------------------------------------------

function ruleRow(label, specialtyId, rule, fallback) {
  const effective = rule || fallback;
  const offsets = el("input", { type: "text", value: effective.offsets_hours.join(", "), inputmode: "numeric",
    "aria-label": "Antecedências em horas — " + label, "data-testid": "rule-offsets" });
  const morning = el("input", { type: "checkbox", "aria-label": "Manhã da consulta — " + label,
    "data-testid": "rule-morning" });
  morning.checked = effective.morning_of;
  const enabled = el("input", { type: "checkbox", "aria-label": "Lembretes ativos — " + label,
    "data-testid": "rule-enabled" });
  enabled.checked = effective.enabled;
  const save = el("button", { type: "button", className: "btn", text: "Salvar",
    "aria-label": "Salvar a regra — " + label });
  const cells = [el("td", {}, [el("span", { text: label }),
    specialtyId !== null && !rule ? el("div", { className: "muted", text: "segue o padrão da clínica" }) : null]),
  el("td", {}, [offsets]), el("td", {}, [morning]), el("td", {}, [enabled])];
  const actions = el("td", {}, [save]);
  if (specialtyId !== null && rule) {
    const inherit = el("button", { type: "button", className: "btn btn--ghost", text: "Usar o padrão",
      "aria-label": "Usar o padrão — " + label });
    inherit.addEventListener("click", function () {
      saveRule({ specialty_id: specialtyId, inherit: true }, "Regra de " + label + " removida: segue o padrão.");
    });
    actions.append(" ", inherit);
  }
  cells.push(actions);
  save.addEventListener("click", function () {
    const raw = offsets.value.split(/[,;\s]+/).filter(function (p) { return p !== ""; });
    const hours = raw.map(function (p) { return /^\d+$/.test(p) ? Number(p) : p; });
    saveRule({ specialty_id: specialtyId, offsets_hours: hours, morning_of: morning.checked,
      enabled: enabled.checked }, "Regra salva: " + label + ".");
  });
  return el("tr", { "data-testid": "rule-row", "data-specialty-id": specialtyId === null ? "default" : specialtyId },
    cells);
}

function renderRules(data) {
  ui.rules.replaceChildren(ruleRow("Padrão da clínica", null, data.default, data.default));
  data.specialties.forEach(function (s) { ui.rules.append(ruleRow(s.name, s.specialty_id, s.rule, data.default)); });
}

async function saveRule(body, done) {
  showError("");
  try {
    renderRules(await api("PUT", "/api/reminders/rules", body));
    announce(done);
    await loadTexts(ui.kind.value);
  } catch (e) { showError(e.message); }
}

// --- texts and preview ----------------------------------------------------------------------

function current() {
  const kind = ui.kind.value;
  return state.texts.find(function (t) { return t.kind === kind; }) || null;
}
function channel() {
  const checked = document.querySelector('input[name="channel"]:checked');
  return checked ? checked.value : "whatsapp";
}
function count() {
  ui.counter.textContent = ui.body.value.length + " de " + state.maxLength + " caracteres";
}

function showKind() {
  const t = current();
  state.dirty = false;
  ui.body.value = t && t.body ? t.body : state.builtIn;
  ui.origin.textContent = t && t.body ? "Texto da clínica (salvo)." : "Texto padrão do sistema.";
  count();
  preview();
}

async function loadTexts(keep) {
  const data = await api("GET", "/api/reminders/texts");
  state.texts = data.texts;
  state.builtIn = data.built_in;
  state.maxLength = data.max_length;
  ui.body.maxLength = data.max_length;
  ui.placeholders.textContent = data.placeholders.map(function (p) {
    return "{" + p.name + "} " + p.label;
  }).join(" · ");
  ui.kind.replaceChildren.apply(ui.kind, data.texts.map(function (t) {
    return el("option", { value: t.kind, text: t.label + (t.body ? " (texto da clínica)" : "") });
  }));
  if (keep && data.texts.some(function (t) { return t.kind === keep; })) ui.kind.value = keep;
  else if (data.texts.some(function (t) { return t.kind === "24h"; })) ui.kind.value = "24h";
  renderTemplate(data.whatsapp_template);
  showKind();
}

function renderTemplate(t) {
  if (!t) {
    ui.template.replaceChildren(el("p", { className: "muted",
      text: "Nenhum modelo de lembrete configurado: fora da janela de 24 horas o lembrete de WhatsApp não é enviado." }));
    return;
  }
  const ref = [t.twilio_content_sid ? "Twilio: " + t.twilio_content_sid : null,
    t.meta_name ? "Meta: " + t.meta_name + " (" + t.language + ")" : null].filter(Boolean).join(" · ");
  ui.template.replaceChildren(
    el("p", {}, [el("strong", { text: t.name }), el("span", { className: "muted", text: " — " + (ref || t.id) })]),
    el("pre", { text: t.body, "data-testid": "template-body" }),
    el("p", { className: "muted", text: "Campos: " + (t.variables || []).join(", ") }));
}

function previewBody() {
  const body = { kind: ui.kind.value, channel: channel() };
  if (state.dirty) body.body = ui.body.value;
  return body;
}

async function preview() {
  if (!ui.kind.value) return;
  const seq = ++state.seq;
  try {
    const data = await api("POST", "/api/reminders/preview", previewBody());
    if (seq !== state.seq) return;  // a newer preview is on its way
    showError("");
    ui.previewText.textContent = data.text;
    ui.previewButtons.replaceChildren.apply(ui.previewButtons, (data.buttons || []).map(function (b) {
      return el("li", { text: b });
    }));
    ui.previewNote.textContent = CHANNEL_NOTE[data.channel] || "";
  } catch (e) {
    if (seq === state.seq) showError(e.message);
  }
}

function later() {
  window.clearTimeout(state.timer);
  state.timer = window.setTimeout(preview, 250);
}

async function saveText(body, done) {
  showError("");
  try {
    const kind = ui.kind.value;
    await api("PUT", "/api/reminders/texts", { kind: kind, body: body });
    await loadTexts(kind);
    announce(done);
  } catch (e) { showError(e.message); }
}

ui.kind.addEventListener("change", showKind);
ui.body.addEventListener("input", function () { state.dirty = true; count(); later(); });
document.querySelectorAll('input[name="channel"]').forEach(function (r) { r.addEventListener("change", preview); });
ui.save.addEventListener("click", function () { saveText(ui.body.value, "Texto salvo. Os próximos lembretes usam este texto."); });
ui.reset.addEventListener("click", function () { saveText(null, "O lembrete voltou ao texto padrão."); });
ui.test.addEventListener("click", async function () {
  showError("");
  ui.test.disabled = true;
  try {
    const body = previewBody();
    delete body.channel;
    const data = await api("POST", "/api/reminders/test", body);
    announce("E-mail de teste enviado para " + data.sent_to + ".");
  } catch (e) { showError(e.message); } finally { ui.test.disabled = false; }
});

(async function start() {
  try {
    renderRules(await api("GET", "/api/reminders/rules"));
    await loadTexts(null);
  } catch (e) { showError(e.message); }
})();
