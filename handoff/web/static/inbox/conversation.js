// atende inbox (/inbox): conversation — see /inbox/inbox.js.
import { el } from "../lib/dom.js";
import { stamp } from "../lib/format.js";
import { updateComposerMode } from "./composer.js";
import { renderContext } from "./context.js";
import { api, askReason, convPath, withReason } from "./http.js";
import { appendNote } from "./notes.js";
import { actedOn, toast } from "./notify.js";
import { renderLists } from "./queue.js";
import { S, SUPERVISORS, TAG_RE, ui } from "./state.js";
import { appendMessage, nearBottom, renderTimeline, scrollToBottom } from "./timeline.js";
import { label } from "./util.js";
import {
  CHANNELS, ERRORS, METRICS, OUTCOMES, PRIORITIES, QUEUES, REASONS, SLA_STATES, STATES, T
} from "./vocab.js";

// ---------------------------------------------------------------- the open conversation
export function conversation() { return S.detail ? S.detail.conversation : null; }

export function isSupervisor() { return !!(S.me && SUPERVISORS[S.me.role]); }

export function holdsIt(c) { return !!(c && S.me && c.assigned_agent_id === S.me.id); }

export function who(agentId, fallbackName) {
  if (agentId === null || agentId === undefined) return fallbackName || "a equipe";
  if (S.me && agentId === S.me.id) return T.you;
  if (fallbackName) return fallbackName;
  if (S.names[agentId]) return S.names[agentId];
  if (Array.isArray(S.agents)) {
    const a = S.agents.find(function (x) { return x.id === agentId; });
    if (a) return a.name;
  }
  return "atendente nº " + agentId;
}

export async function openConversation(id) {
  if (!id) return;
  if (S.openId && S.openId !== id) S.drafts[S.openId] = ui.input.value;
  const switching = S.openId !== id;
  S.openId = id;
  S.unread.delete(id);
  renderLists();
  ui.app.setAttribute("data-view", "conv");
  ui.placeholder.hidden = true;
  ui.conv.hidden = false;
  if (switching) {
    S.detail = null;
    S.liveLog = [];
    ui.conv.setAttribute("aria-busy", "true");
    ui.title.textContent = "Carregando…";
    ui.meta.textContent = "";
    ui.timeline.replaceChildren();
    ui.botCard.hidden = true;
    ui.patientCard.hidden = true;
    ui.input.value = S.drafts[id] || "";
    ui.noteToggle.checked = false;
    updateComposerMode();
  }
  await loadDetail(true);
  if (switching && S.openId === id && window.matchMedia("(min-width: 761px)").matches) {
    ui.input.focus({ preventScroll: true });
  }
}

export async function loadDetail(scrollDown) {
  const id = S.openId;
  if (!id) return;
  const seq = ++S.loadSeq;
  const liveMark = S.liveLog.length;
  let detail;
  try {
    detail = await api("GET", withReason(convPath(id), id));
  } catch (e) {
    if (seq !== S.loadSeq || S.openId !== id) return;
    if (e.code === "reason_required" && !S.reasons[id]) {
      const reason = askReason();
      if (reason) {
        S.reasons[id] = reason;
        return loadDetail(scrollDown);
      }
    }
    if (e.status === 403 || e.status === 404) {
      toast(e.message, "error");
      closeConversation();
    } else if (e.status !== 401) {
      toast(e.message, "error");
    }
    return;
  }
  if (seq !== S.loadSeq || S.openId !== id) return; // a newer load or another conversation won
  S.detail = detail;
  ui.conv.removeAttribute("aria-busy");
  const stick = scrollDown || nearBottom();
  const top = ui.scroller.scrollTop;
  renderHeader();
  renderTags();
  renderTimeline();
  replayLive(liveMark);
  renderContext();
  updateComposerMode();
  if (stick) scrollToBottom();
  else ui.scroller.scrollTop = top; // reading older messages: stay there
}

// Messages and notes that arrived live while the detail was being fetched may be missing from
// it (read before they were stored): show them again after the re-render (messages by id).
export function replayLive(mark) {
  const notes = (S.detail.events || []).filter(function (e) { return e.type === "note"; });
  S.liveLog.slice(mark).forEach(function (entry) {
    if (entry.kind === "msg") {
      appendMessage(entry.m);
    } else if (!notes.some(function (e) {
      return e.data && e.data.text === entry.note.text && e.data.agent_id === entry.note.agent_id;
    })) {
      appendNote(entry.note, entry.at);
    }
  });
  S.liveLog = S.liveLog.slice(-50);
}

export function refreshDetail() {
  clearTimeout(S.detailDebounce);
  S.detailDebounce = setTimeout(function () { loadDetail(false); }, 400);
}

export function closeConversation() {
  S.openId = null;
  S.detail = null;
  ui.conv.hidden = true;
  ui.placeholder.hidden = false;
  ui.botCard.hidden = true;
  ui.patientCard.hidden = true;
  ui.app.setAttribute("data-view", "list");
  renderLists();
}

// Apply a conversation view returned by an action (claim, reply, tags, transfer…).
export function applyConversation(view) {
  if (!view || !S.detail || view.id !== S.openId) return;
  S.detail.conversation = Object.assign({}, S.detail.conversation, view);
  renderHeader();
  renderTags();
  updateComposerMode();
}

export function renderHeader() {
  const c = conversation();
  if (!c) return;
  const patient = S.detail.patient || {};
  ui.title.textContent = patient.name || c.patient_name || T.unnamed;
  const parts = [label(CHANNELS, c.channel), "Fila " + label(QUEUES, c.queue), label(STATES, c.state)];
  if (c.state === "assigned" || c.state === "waiting_patient") {
    parts[2] += " · com " + who(c.assigned_agent_id);
  }
  if (c.state === "resolved" && c.outcome) parts[2] += " · " + label(OUTCOMES, c.outcome);
  if (c.priority && c.priority !== "normal") parts.push("Prioridade " + label(PRIORITIES, c.priority).toLowerCase());
  ui.meta.replaceChildren(el("span", { text: parts.join(" · ") }));
  const sla = headlineSla();
  if (sla) ui.meta.appendChild(el("span", { className: "sla-chip", "data-sla": sla.state, "data-testid": "conv-sla",
    "data-deadline": sla.deadline || null, text: sla.text }));
  ui.conv.setAttribute("data-state", c.state);

  const held = c.state === "assigned" || c.state === "waiting_patient";
  const mineOrBoss = holdsIt(c) || isSupervisor();
  const show = {
    claim: c.state === "queued",
    wait: c.state === "assigned" && mineOrBoss,
    transfer: (held && mineOrBoss) || (c.state === "queued" && isSupervisor()),
    resolve: c.state === "queued" || (held && mineOrBoss),
    reopen: c.state === "resolved"
  };
  Object.keys(show).forEach(function (k) {
    const b = ui.actions.querySelector('[data-action="' + k + '"]');
    if (b) b.hidden = !show[k];
  });
}

export function headlineSla() {
  const sla = S.detail && S.detail.sla;
  const c = conversation();
  if (!sla || !c || (c.state !== "queued" && c.state !== "assigned" && c.state !== "waiting_patient")) return null;
  if (sla.waiting_patient) return { state: "paused", text: "SLA pausado: aguardando o paciente" };
  const clocks = (sla.clocks || []).filter(function (k) { return k.status === "running" && k.deadline; });
  clocks.sort(function (a, b) { return Date.parse(a.deadline) - Date.parse(b.deadline); });
  const k = clocks[0];
  if (!k) return null;
  let state = k.state || "ok";
  if (Date.parse(k.deadline) <= Date.now()) state = "breached";
  const pct = typeof k.percent === "number" ? " (" + Math.round(k.percent) + "%)" : "";
  return { state: state, deadline: k.deadline,
    text: label(METRICS, k.metric) + ": " + label(SLA_STATES, state).toLowerCase() + pct +
      " · vence " + stamp(k.deadline) };
}

// ---------------------------------------------------------------- tags
export function renderTags() {
  const c = conversation();
  const tags = (c && c.tags) || [];
  ui.tagList.replaceChildren.apply(ui.tagList, tags.map(function (tag) {
    const remove = el("button", { type: "button", className: "tag-remove", "aria-label": "Remover etiqueta " + tag,
      title: "Remover", text: "×" });
    remove.addEventListener("click", function () {
      saveTags(tags.filter(function (t) { return t !== tag; }));
    });
    return el("li", { className: "tag", "data-testid": "tag" }, [el("span", { text: tag }), remove]);
  }));
}

export async function saveTags(tags) {
  const id = S.openId;
  if (!id) return;
  try {
    const view = await api("POST", convPath(id, "tags"), { tags: tags });
    actedOn(id);
    applyConversation(view);
    refreshDetail();
  } catch (e) {
    toast(e.message, "error");
  }
}

// An attendant fixes the bot's reason tag; the bot review ("O que o bot não entendeu") reads it.
ui.reasonForm.addEventListener("submit", async function (e) {
  e.preventDefault();
  const id = S.openId;
  const c = conversation();
  if (!id || !c || ui.reasonSelect.value === c.reason) return;
  try {
    const view = await api("POST", convPath(id, "reason"), { reason: ui.reasonSelect.value });
    actedOn(id);
    applyConversation(view);
    refreshDetail();
    toast("Motivo corrigido: " + label(REASONS, view.reason) + ". O bot vai aprender com esta conversa.", "ok");
  } catch (err) {
    toast(err.message, "error");
  }
});

ui.tagForm.addEventListener("submit", function (e) {
  e.preventDefault();
  const value = ui.tagInput.value.trim().toLowerCase();
  if (!value) return;
  if (!TAG_RE.test(value)) {
    toast(ERRORS.invalid_tags, "error");
    return;
  }
  const c = conversation();
  const tags = ((c && c.tags) || []).slice();
  if (tags.indexOf(value) < 0) tags.push(value);
  ui.tagInput.value = "";
  saveTags(tags);
});
