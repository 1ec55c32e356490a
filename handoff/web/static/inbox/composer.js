// atende inbox (/inbox): composer — see /inbox/inbox.js.
import { $all, el } from "../lib/dom.js";
import { applyConversation, conversation, holdsIt, refreshDetail, who } from "./conversation.js";
import { api, convPath } from "./http.js";
import { liveNote } from "./notes.js";
import { actedOn, toast } from "./notify.js";
import { refreshLists } from "./queue.js";
import { CONFIG, COUNTER_FROM, MAX_TEXT, S, ui } from "./state.js";
import { showTemplatePicker } from "./templates.js";
import { liveMessage, scrollToBottom } from "./timeline.js";
import { firstName, label } from "./util.js";
import { OUTCOMES, T } from "./vocab.js";

// ---------------------------------------------------------------- composer
export function noteMode() { return ui.noteToggle.checked; }

export function updateComposerMode() {
  const c = conversation();
  const note = noteMode();
  ui.composer.setAttribute("data-mode", note ? "note" : "reply");
  ui.input.placeholder = note ? T.notePlaceholder : T.replyPlaceholder;
  let canReply = false;
  let banner = "";
  if (c) {
    if (c.state === "queued") {
      canReply = true;
      banner = "Esta conversa está na fila. Assuma para responder ao paciente.";
    } else if (c.state === "assigned" || c.state === "waiting_patient") {
      canReply = holdsIt(c);
      if (!canReply) {
        banner = "Esta conversa está com " + who(c.assigned_agent_id) + ". Você pode deixar notas internas.";
      }
      else if (c.state === "waiting_patient") banner = "Aguardando o paciente: o SLA está pausado até ele responder.";
    } else if (c.state === "resolved") {
      banner = "Conversa resolvida" + (c.outcome ? " (" + label(OUTCOMES, c.outcome) + ")" : "") +
        ". Reabra para responder.";
    } else if (c.state === "bot") {
      banner = "O assistente virtual está atendendo esta conversa.";
    }
  }
  // WhatsApp's 24-hour window (Instagram/Messenger: 7 days for attendants): past it, free text
  // cannot reach the patient; on WhatsApp an approved template still can.
  const win = c && c.window;
  let picker = false;
  if (win && !win.open && canReply) {
    canReply = false;
    picker = !!win.requires_template;
    banner = picker ? T.windowClosed : T.windowExpired;
  }
  ui.banner.textContent = banner;
  ui.banner.hidden = !banner;
  showTemplatePicker(picker && !note);
  const enabled = !!c && (note || canReply) && !S.busy;
  ui.send.disabled = !enabled;
  ui.input.disabled = !c || (!note && !canReply);
  ui.send.textContent = note ? T.saveNote : c && c.state === "queued" ? T.claimAndSend : T.send;
  $all("button", ui.quick).forEach(function (b) { b.disabled = note || !canReply; });
  updateCounter();
}


export function updateCounter() {
  const n = ui.input.value.length;
  ui.hint.textContent = n >= COUNTER_FROM ? T.counter(n) : "";
  ui.hint.classList.toggle("over", n > MAX_TEXT);
}

export function fillPlaceholders(text) {
  const patient = S.detail && S.detail.patient ? firstName(S.detail.patient.name) : "";
  return text
    .replace(/\{nome\}/g, firstName(S.me && S.me.name) || "a equipe")
    .replace(patient ? /\{paciente\}/g : /,?\s*\{paciente\}/g, patient)
    .replace(/\{clinica\}/g, CONFIG.clinic || "clínica");
}

export function renderQuickReplies() {
  ui.quick.replaceChildren.apply(ui.quick, CONFIG.quickReplies.map(function (q) {
    const b = el("button", { type: "button", className: "chip", "data-testid": "quick-reply", title: q.text,
      text: q.title });
    b.addEventListener("click", function () {
      const text = fillPlaceholders(q.text);
      const cur = ui.input.value;
      ui.input.value = cur.trim() ? cur.replace(/\s*$/, " ") + text : text;
      ui.input.focus();
      ui.input.setSelectionRange(ui.input.value.length, ui.input.value.length);
      updateCounter();
    });
    return b;
  }));
  ui.quick.hidden = CONFIG.quickReplies.length === 0;
}

export async function submitComposer() {
  const id = S.openId;
  const c = conversation();
  const text = ui.input.value.trim();
  if (!id || !c || !text || S.busy) return;
  if (text.length > MAX_TEXT) {
    toast(T.tooLong, "error");
    return;
  }
  S.busy = true;
  updateComposerMode();
  try {
    if (noteMode()) {
      // Registered before the request: the socket's echo may arrive before the response.
      const echo = { text: text, until: Date.now() + 30000 };
      S.noteEchoes.push(echo);
      let res;
      try {
        res = await api("POST", convPath(id, "notes"), { text: text });
      } catch (e) {
        S.noteEchoes = S.noteEchoes.filter(function (n) { return n !== echo; });
        throw e;
      }
      actedOn(id);
      liveNote(res.note || { text: text, agent_id: S.me && S.me.id });
      scrollToBottom();
      applyConversation(res.conversation);
    } else {
      if (c.state === "queued") {
        actedOn(id);
        applyConversation(await api("POST", convPath(id, "claim")));
        refreshLists(0);
      }
      const res = await api("POST", convPath(id, "reply"), { text: text });
      actedOn(id);
      if (res && res.message) liveMessage(Object.assign({ conversation_id: id }, res.message));
      scrollToBottom();
      applyConversation(res && res.conversation);
    }
    ui.input.value = "";
    S.drafts[id] = "";
  } catch (e) {
    if (e.status !== 401) toast(e.message, "error");
    if (e.status === 409) refreshDetail();
  } finally {
    S.busy = false;
    updateComposerMode();
    ui.input.focus();
  }
}

ui.composer.addEventListener("submit", function (e) {
  e.preventDefault();
  submitComposer();
});
ui.input.addEventListener("keydown", function (e) {
  if (e.key === "Enter" && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey && !e.isComposing) {
    e.preventDefault();
    submitComposer();
  }
});
ui.input.addEventListener("input", updateCounter);
ui.noteToggle.addEventListener("change", function () {
  updateComposerMode();
  ui.input.focus();
});
