/*
 * atende: data-subject requests (/privacidade; managers, admins, privacy officer).
 *
 * Data: GET /api/privacy/requests, GET /api/privacy/requests/<id>; changes: POST …/transition,
 * …/answer, …/reject, …/correction, …/erasure; downloads: …/export.zip, …/export.pdf (plain links:
 * the session cookie authenticates GETs). Session cookie + `X-Requested-With: atende` via
 * /static/lib/api.js (docs/CONTRACTS.md). ES module (shared helpers: /static/lib/); texts are
 * assigned with textContent only.
 */
import { createApi } from "/static/lib/api.js";
import { $, el } from "/static/lib/dom.js";
import { dateTimeShortText } from "/static/lib/format.js";

const STATUS = { open: "Aberta", in_progress: "Em andamento", answered: "Respondida", rejected: "Recusada" };
const KIND = { access: "Acesso", export: "Portabilidade", correction: "Correção", erasure: "Eliminação",
  revoke_consent: "Revogação do consentimento" };
const VERIFIED = { channel: "identidade do canal", cpf_birth_date: "CPF e data de nascimento",
  staff: "conferida pela equipe" };
const HELD = { identities: "Identidades nos canais", channels: "Canais", conversations: "Conversas",
  messages: "Mensagens", messages_with_attachments: "Mensagens com anexos", appointments: "Consultas",
  exam_results: "Exames", boletos: "Boletos", consents: "Registros de consentimento",
  csat_responses: "Avaliações", privacy_requests: "Solicitações LGPD", staff_accesses: "Acessos da equipe" };

const S = { current: null, noteStatus: null };
const ui = {
  rows: $('[data-testid="request-rows"]'), status: $('[data-testid="privacy-status"]'),
  error: $('[data-testid="privacy-error"]'), detail: $('[data-testid="request-detail"]'),
  filters: $('[data-testid="filters"]'), create: $('[data-testid="create-form"]'),
  correct: $('[data-testid="correct-dialog"]'), erase: $('[data-testid="erase-dialog"]'),
  note: $('[data-testid="note-dialog"]')
};
const api = createApi({
  next: "/privacidade",
  describe: function (status, code, message) { return message || "erro " + status; }
});
const fmtDate = function (iso) { return dateTimeShortText(iso); };

function clockText(r) {
  if (r.status === "answered" || r.status === "rejected") return "Encerrada";
  const left = r.clock.days_left;
  if (left < 0) return "Atrasada há " + Math.ceil(-left) + " dia(s)";
  return Math.ceil(left) + " dia(s) restantes";
}
function showError(message) {
  ui.error.textContent = message || "";
  ui.error.hidden = !message;
}

async function loadList() {
  const form = new FormData(ui.filters);
  const q = new URLSearchParams();
  if (form.get("status")) q.set("status", form.get("status"));
  if (form.get("kind")) q.set("kind", form.get("kind"));
  if (form.get("overdue")) q.set("overdue", "1");
  try {
    const data = await api("GET", "/api/privacy/requests?" + q.toString());
    ui.rows.replaceChildren.apply(ui.rows, data.items.map(row));
    ui.status.textContent = data.items.length + " solicitação(ões)";
    showError("");
  } catch (e) { showError(e.message); }
}
function row(r) {
  const clock = el("td", { text: clockText(r), "data-testid": "clock" });
  if (r.clock.overdue) clock.className = "overdue";
  else if (r.clock.escalate) clock.className = "due-soon";
  const link = el("button", { type: "button", class: "link", text: "#" + r.id, "data-testid": "open-request" });
  link.addEventListener("click", function () { openDetail(r.id); });
  return el("tr", { "data-request-id": r.id, "data-testid": "request-row" }, [
    el("td", {}, [link]),
    el("td", { text: r.patient_erased ? "(dados eliminados)" : (r.patient_name || ("paciente " + r.patient_id)) }),
    el("td", { text: KIND[r.kind] || r.kind }),
    el("td", { text: STATUS[r.status] || r.status, "data-testid": "status" }),
    clock,
    el("td", { text: fmtDate(r.created_at) })
  ]);
}

async function openDetail(id) {
  try {
    const d = await api("GET", "/api/privacy/requests/" + id);
    S.current = d;
    renderDetail(d);
  } catch (e) { showError(e.message); }
}
function renderDetail(d) {
  ui.detail.hidden = false;
  $('[data-testid="detail-title"]').textContent = "Solicitação #" + d.id + " — " + (KIND[d.kind] || d.kind) +
    " (" + (STATUS[d.status] || d.status) + ")";
  const clock = $('[data-testid="detail-clock"]');
  clock.textContent = "Prazo: " + fmtDate(d.due_at) + " — " + clockText(d);
  clock.className = "clock" + (d.clock.overdue ? " overdue" : "");
  const p = d.patient || {};
  const idl = $('[data-testid="detail-identity"]');
  const pairs = [["Paciente", p.name || "—"], ["Telefone", p.phone || "—"], ["E-mail", p.email || "—"],
    ["CPF", p.cpf || "—"], ["Nascimento", p.birth_date || "—"],
    ["Identidade verificada por", VERIFIED[d.verified_by] || d.verified_by || "—"],
    ["Canais", (p.identities || []).map(function (i) { return i.channel; }).join(", ") || "—"]];
  if (p.erased_at) pairs.push(["Dados eliminados em", fmtDate(p.erased_at)]);
  if (d.details && d.details.text) pairs.push(["Pedido", d.details.text]);
  idl.replaceChildren.apply(idl, pairs.reduce(function (acc, kv) {
    return acc.concat([el("dt", { text: kv[0] }), el("dd", { text: kv[1] })]);
  }, []));
  const held = $('[data-testid="detail-held"]');
  held.replaceChildren.apply(held, Object.keys(d.held || {}).map(function (k) {
    const v = d.held[k];
    return el("li", { text: (HELD[k] || k) + ": " + (Array.isArray(v) ? v.join(", ") || "—" : v) });
  }));
  const holds = holdItems(d.legal_holds);
  const hl = $('[data-testid="detail-holds"]');
  hl.replaceChildren.apply(hl, holds);
  $('[data-testid="export-zip"]').setAttribute("href", "/api/privacy/requests/" + d.id + "/export.zip");
  $('[data-testid="export-pdf"]').setAttribute("href", "/api/privacy/requests/" + d.id + "/export.pdf");
  const closed = d.status === "answered" || d.status === "rejected";
  $('[data-testid="open-erase"]').hidden = d.kind !== "erasure" || closed;
  $('[data-testid="open-correct"]').hidden = closed || !!p.erased_at;
  $('[data-testid="open-answer"]').hidden = closed;
  $('[data-testid="open-reject"]').hidden = closed;
  const res = d.result || {};
  const result = $('[data-testid="detail-result"]');
  result.textContent = res.erasure ? "Dados eliminados em " + fmtDate(res.erasure.erased_at) + "." :
    (res.note ? "Resposta: " + res.note : (res.rejection_reason ? "Motivo da recusa: " + res.rejection_reason : ""));
}
function holdItems(list) {
  if (!list || !list.length) return [el("li", { text: "Nenhum dado sob guarda legal." })];
  return list.map(function (h) {
    return el("li", { text: h.label + " até " + (h.until || "—") + " (" + h.basis + ")", "data-testid": "hold" });
  });
}

function bindDialog(dialog, onSubmit) {
  const form = $("form", dialog);
  const err = $(".form-error", dialog);
  dialog.querySelectorAll("[data-close]").forEach(function (b) {
    b.addEventListener("click", function () { dialog.close(); });
  });
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    err.hidden = true;
    try { await onSubmit(new FormData(form)); dialog.close(); await openDetail(S.current.id); await loadList(); }
    catch (e) { err.textContent = e.message; err.hidden = false; }
  });
}

bindDialog(ui.correct, async function (form) {
  const body = {};
  ["name", "email", "phone", "birth_date"].forEach(function (k) { if (form.get(k)) body[k] = form.get(k); });
  await api("POST", "/api/privacy/requests/" + S.current.id + "/correction", body);
});
bindDialog(ui.erase, async function () {
  await api("POST", "/api/privacy/requests/" + S.current.id + "/erasure", { confirm: true });
});
bindDialog(ui.note, async function (form) {
  await api("POST", "/api/privacy/requests/" + S.current.id + "/" + S.noteStatus,
    { note: form.get("note") || null });
});

$('[data-testid="open-correct"]').addEventListener("click", function () {
  $("form", ui.correct).reset();
  ui.correct.showModal();
});
$('[data-testid="open-erase"]').addEventListener("click", function () {
  const ul = $('[data-testid="erase-holds"]');
  ul.replaceChildren.apply(ul, holdItems(S.current.legal_holds));
  ui.erase.showModal();
});
$('[data-testid="open-answer"]').addEventListener("click", function () {
  S.noteStatus = "answer";
  $('[data-testid="note-title"]').textContent = "Responder ao titular";
  ui.note.showModal();
});
$('[data-testid="open-reject"]').addEventListener("click", function () {
  S.noteStatus = "reject";
  $('[data-testid="note-title"]').textContent = "Recusar (informe o motivo)";
  ui.note.showModal();
});
ui.filters.addEventListener("submit", function (ev) { ev.preventDefault(); loadList(); });
ui.create.addEventListener("submit", async function (ev) {
  ev.preventDefault();
  const form = new FormData(ui.create);
  try {
    const r = await api("POST", "/api/privacy/requests", { patient_id: Number(form.get("patient_id")),
      kind: form.get("kind"), details: form.get("details") || null });
    ui.create.reset();
    await loadList();
    await openDetail(r.id);
  } catch (e) { showError(e.message); }
});

api("GET", "/api/auth/me").then(function (me) {
  $('[data-testid="me-name"]').textContent = me.name || "";
}).catch(function () { /* the list shows the error */ });
loadList();
