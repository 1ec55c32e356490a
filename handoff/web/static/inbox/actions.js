// atende inbox (/inbox): actions — see /inbox/inbox.js.
import { $, $all, el } from "../lib/dom.js";
import { applyConversation, conversation, isSupervisor, refreshDetail } from "./conversation.js";
import { api, convPath } from "./http.js";
import { actedOn, announce, toast } from "./notify.js";
import { refreshLists } from "./queue.js";
import { S, ui } from "./state.js";
import { label } from "./util.js";
import { OUTCOMES, QUEUES } from "./vocab.js";

// ---------------------------------------------------------------- actions
export async function act(action, body, okText) {
  const id = S.openId;
  if (!id) return null;
  actedOn(id);
  try {
    const view = await api("POST", convPath(id, action), body);
    applyConversation(view);
    refreshLists(0);
    refreshDetail();
    if (okText) announce(okText);
    return view;
  } catch (e) {
    if (e.status !== 401) toast(e.message, "error");
    if (e.status === 409) refreshDetail();
    return null;
  }
}

ui.actions.addEventListener("click", function (e) {
  const b = e.target.closest("button[data-action]");
  if (!b) return;
  const action = b.getAttribute("data-action");
  if (action === "claim") act("claim", undefined, "Conversa assumida");
  else if (action === "wait") act("wait", undefined, "Aguardando o paciente");
  else if (action === "reopen") act("reopen", undefined, "Conversa reaberta");
  else if (action === "transfer") openTransfer();
  else if (action === "resolve") openResolve();
  else if (action === "context") toggleContext();
});
$(".back").addEventListener("click", function () {
  ui.app.setAttribute("data-view", "list");
  const current = S.openId &&
    ui.app.querySelector('.conv-item[data-conversation-id="' + CSS.escape(S.openId) + '"] button');
  if (current) current.focus();
});
$(".ctx-close").addEventListener("click", function () { toggleContext(false); });

export function toggleContext(force) {
  const open = force === undefined ? ui.app.getAttribute("data-ctx") !== "open" : force;
  ui.app.setAttribute("data-ctx", open ? "open" : "closed");
  $('[data-action="context"]').setAttribute("aria-expanded", open ? "true" : "false");
  if (open) $(".ctx-close").focus();
}

export function dialogError(dialog, text) {
  const p = $(".dialog-error", dialog);
  p.textContent = text || "";
  p.hidden = !text;
}

export function openResolve() {
  const d = ui.resolveDialog;
  dialogError(d, "");
  $('input[value="resolved"]', d).checked = true;
  d.showModal();
  $('input[value="resolved"]', d).focus();
}

export async function openTransfer() {
  const d = ui.transferDialog;
  const c = conversation();
  dialogError(d, "");
  const queueSelect = $('[data-testid="transfer-queue"]', d);
  const names = Object.keys(QUEUES);
  ((S.me && S.me.queues) || []).forEach(function (q) { if (names.indexOf(q) < 0) names.push(q); });
  queueSelect.replaceChildren.apply(queueSelect, names.map(function (q) {
    return el("option", { value: q, text: label(QUEUES, q) + (c && c.queue === q ? " (atual)" : "") });
  }));
  const other = names.find(function (q) { return !c || q !== c.queue; });
  if (other) queueSelect.value = other;
  $('input[value="queue"]', d).checked = true;
  syncTransferTarget();
  d.showModal();
  queueSelect.focus();
  if (isSupervisor()) S.agents = null; // fresh presence and occupancy
  await loadAgents();
  const agentOption = $("[data-agent-option]", d);
  const agentSelect = $('[data-testid="transfer-agent"]', d);
  const candidates = Array.isArray(S.agents) ? S.agents.filter(function (a) {
    return a.active !== false && a.role === "attendant" && (!c || a.id !== c.assigned_agent_id);
  }) : [];
  agentOption.hidden = candidates.length === 0;
  candidates.sort(function (a, b) {
    return (a.presence === "online" ? 0 : 1) - (b.presence === "online" ? 0 : 1) || (a.open || 0) - (b.open || 0);
  });
  const options = candidates.map(function (a) {
    const load = typeof a.open === "number" ? " · " + a.open + "/" + a.max_concurrent : "";
    return el("option", { value: String(a.id), disabled: a.presence !== "online" ? true : null,
      text: a.name + " (" + (a.presence === "online" ? "online" : a.presence === "away" ? "ausente" : "offline") +
        load + ")" });
  });
  if (!candidates.some(function (a) { return a.presence === "online"; })) {
    options.unshift(el("option", { value: "", text: "Nenhum atendente online no momento" }));
  }
  agentSelect.replaceChildren.apply(agentSelect, options);
  agentSelect.value = options.length && !options[0].disabled ? options[0].value : "";
}

export async function loadAgents() {
  if (S.agents !== null || !isSupervisor()) { // GET /api/agents is for managers/admins only
    if (!isSupervisor()) S.agents = false;
    return;
  }
  try {
    S.agents = await api("GET", "/api/agents");
  } catch (e) {
    S.agents = false;
  }
}

export function syncTransferTarget() {
  const d = ui.transferDialog;
  const target = ($('input[name="target"]:checked', d) || {}).value || "queue";
  $('[data-for="queue"]', d).hidden = target !== "queue";
  $('[data-for="agent"]', d).hidden = target !== "agent";
}

$all('input[name="target"]', ui.transferDialog).forEach(function (r) {
  r.addEventListener("change", syncTransferTarget);
});

[ui.transferDialog, ui.resolveDialog].forEach(function (d) {
  $all("[data-close]", d).forEach(function (b) { b.addEventListener("click", function () { d.close(); }); });
});

$('[data-form="transfer"]').addEventListener("submit", async function (e) {
  e.preventDefault();
  const d = ui.transferDialog;
  const target = ($('input[name="target"]:checked', d) || {}).value;
  let body;
  if (target === "agent") {
    const v = $('[data-testid="transfer-agent"]', d).value;
    if (!v) { dialogError(d, "Escolha um atendente."); return; }
    body = { agent_id: Number(v) };
  } else {
    body = { queue: $('[data-testid="transfer-queue"]', d).value };
  }
  const view = await act("transfer", body, "Conversa transferida");
  if (view) d.close();
  else dialogError(d, "Não foi possível transferir. Veja o aviso na tela.");
});

$('[data-form="resolve"]').addEventListener("submit", async function (e) {
  e.preventDefault();
  const d = ui.resolveDialog;
  const outcome = ($('input[name="outcome"]:checked', d) || {}).value || "resolved";
  const view = await act("resolve", { outcome: outcome }, "Conversa resolvida: " + label(OUTCOMES, outcome));
  if (view) d.close();
  else dialogError(d, "Não foi possível resolver. Veja o aviso na tela.");
});
