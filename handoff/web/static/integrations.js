/*
 * atende: delivery log of interaction records (/integracoes; managers and admins).
 *
 * Data: GET /api/integrations/deliveries, POST /api/integrations/deliveries/<id>/replay; the clinic's
 * agenda: GET /api/agenda, PUT /api/agenda/doctors/<id>, POST /api/agenda/sync. Session cookie +
 * `X-Requested-With: atende` (both via /static/lib/api.js). ES module (shared helpers: /static/lib/);
 * texts via textContent only.
 */
import { createApi, FORBIDDEN_TEXT } from "/static/lib/api.js";
import { $, announce as announceIn, el } from "/static/lib/dom.js";
import { dateTime } from "/static/lib/format.js";

const STATUS = { pending: "Aguardando", sending: "Enviando", delivered: "Entregue", dead: "Falhou" };
const TARGET = { webhook: "CRM (webhook)", fhir: "Prontuário (FHIR)" };
const OUTCOME = {
  resolvido_pelo_bot: "resolvido pelo assistente", resolvido_por_atendente: "resolvido por atendente",
  agendado_por_atendente: "agendado por atendente", nao_resolvido: "não resolvido"
};
const CHANNEL = { webchat: "chat do site", whatsapp: "WhatsApp", whatsapp_meta: "WhatsApp", sms: "SMS",
  instagram: "Instagram", messenger: "Messenger", email: "e-mail", phone: "telefone" };
const ui = {
  status: $('[data-testid="integrations-status"]'),
  error: $('[data-testid="integrations-error"]'),
  rows: $('[data-testid="delivery-rows"]'),
  filter: $('[data-testid="status-filter"]'),
  refresh: $('[data-testid="refresh"]'),
  targets: $('[data-testid="targets"]'),
  counts: $('[data-testid="counts"]')
};
function announce(text) { announceIn(ui.status, text); }
const api = createApi({ next: "/integracoes", forbiddenText: FORBIDDEN_TEXT });
const when = function (iso) { return dateTime(iso); };

function showError(text) { ui.error.textContent = text || ""; ui.error.hidden = !text; }


function lastAnswer(d) {
  if (d.last_http_status) return "HTTP " + d.last_http_status;
  return d.last_error || "—";
}

function row(d) {
  const replay = el("button", { type: "button", className: "btn btn--ghost", "data-testid": "replay",
    text: "Reenviar", disabled: d.status === "sending", "aria-label": "Reenviar o envio nº " + d.id });
  replay.addEventListener("click", function () { doReplay(d.id, replay); });
  const what = el("td", {}, [
    el("div", { text: (CHANNEL[d.channel] || d.channel || "—") + " · " + (OUTCOME[d.outcome] || d.outcome || "—") }),
    d.transcript_url ? el("a", { href: d.transcript_url, text: "ver conversa", className: "muted" }) : null
  ]);
  return el("tr", { "data-testid": "delivery-row", "data-delivery-id": d.id, "data-status": d.status }, [
    el("td", { text: String(d.id) }),
    el("td", { text: TARGET[d.target] || d.target }),
    what,
    el("td", {}, [el("span", { className: "badge badge--" + d.status, "data-testid": "delivery-status",
      text: STATUS[d.status] || d.status })]),
    el("td", { "data-testid": "delivery-attempts", text: String(d.attempts) +
      (d.replays ? " (reenviado " + d.replays + "×)" : "") }),
    el("td", { "data-testid": "delivery-last", text: lastAnswer(d) }),
    el("td", { text: d.status === "pending" ? when(d.next_attempt_at) : "—" }),
    el("td", { text: when(d.created_at) }),
    el("td", {}, [replay])
  ]);
}

function render(data) {
  const targets = (data.targets || []).map(function (t) { return TARGET[t] || t; });
  ui.targets.textContent = targets.length ? "Destinos configurados: " + targets.join(", ") + "."
    : "Nenhum destino configurado: nada é enviado (CRM_WEBHOOK_URL / INTERACTIONS_TO_FHIR).";
  const counts = data.counts || {};
  ui.counts.textContent = Object.keys(STATUS).map(function (s) { return STATUS[s] + ": " + (counts[s] || 0); })
    .join(" · ");
  const list = data.deliveries || [];
  if (!list.length) {
    ui.rows.replaceChildren(el("tr", {}, [el("td", { colspan: "9", className: "muted", text: "Nenhum envio." })]));
    return;
  }
  ui.rows.replaceChildren.apply(ui.rows, list.map(row));
}

async function load() {
  const status = ui.filter.value;
  try {
    render(await api("GET", "/api/integrations/deliveries" + (status ? "?status=" + encodeURIComponent(status) : "")));
    showError("");
  } catch (e) { showError(e.message); }
}

async function doReplay(id, button) {
  button.disabled = true;
  try {
    await api("POST", "/api/integrations/deliveries/" + encodeURIComponent(id) + "/replay");
    announce("Envio nº " + id + " será reenviado.");
    showError("");
    await load();
  } catch (e) { showError(e.message); button.disabled = false; }
}

// -- the clinic's agenda: which calendar / FHIR Schedule each doctor's appointments live in --------
const agenda = {
  backend: $('[data-testid="agenda-backend"]'),
  table: $('[data-testid="agenda-table"]'),
  rows: $('[data-testid="agenda-rows"]'),
  sync: $('[data-testid="agenda-sync"]')
};
const BACKEND = { builtin: "agenda interna do atende", caldav: "CalDAV", fhir: "FHIR R4" };

function agendaRow(d) {
  const input = el("input", { type: "text", value: d.agenda_ref || "", maxlength: "500",
    "data-testid": "agenda-ref", "aria-label": "Agenda de " + d.name,
    placeholder: "vazio = agenda interna" });
  const save = el("button", { type: "button", className: "btn btn--ghost", text: "Salvar",
    "data-testid": "agenda-save", "aria-label": "Salvar a agenda de " + d.name });
  save.addEventListener("click", async function () {
    save.disabled = true;
    try {
      await api("PUT", "/api/agenda/doctors/" + encodeURIComponent(d.id), { agenda_ref: input.value.trim() || null });
      announce("Agenda de " + d.name + " salva.");
      showError("");
    } catch (e) { showError(e.message); }
    save.disabled = false;
  });
  return el("tr", { "data-testid": "agenda-row", "data-doctor-id": d.id }, [
    el("td", { text: d.name }), el("td", { text: d.specialty }), el("td", {}, [input]), el("td", {}, [save])
  ]);
}

async function loadAgenda() {
  try {
    const data = await api("GET", "/api/agenda");
    const external = data.backend !== "builtin";
    agenda.backend.textContent = "Agenda em uso: " + (BACKEND[data.backend] || data.backend) + "." + (external
      ? " Cada médico aponta para o seu calendário; sem agenda, o médico usa a agenda interna."
      : " Para usar o calendário da clínica, configure AGENDA_BACKEND=caldav ou fhir.");
    agenda.table.hidden = !external;
    agenda.sync.hidden = !external;
    if (external) agenda.rows.replaceChildren.apply(agenda.rows, (data.doctors || []).map(agendaRow));
  } catch (e) { showError(e.message); }
}

agenda.sync.addEventListener("click", async function () {
  agenda.sync.disabled = true;
  try {
    const r = await api("POST", "/api/agenda/sync");
    announce("Agenda sincronizada: " + r.updated + " alterada(s), " + r.cancelled + " cancelada(s), " +
      r.adopted + " recuperada(s)" + (r.unavailable ? "; " + r.unavailable + " agenda(s) sem resposta" : "") + ".");
    showError("");
  } catch (e) { showError(e.message); }
  agenda.sync.disabled = false;
});

ui.filter.addEventListener("change", load);
ui.refresh.addEventListener("click", load);
load();
loadAgenda();
