// atende inbox (/inbox): notes — see /inbox/inbox.js.
import { el } from "../lib/dom.js";
import { stamp } from "../lib/format.js";
import { who } from "./conversation.js";
import { isOpen } from "./live.js";
import { S, ui } from "./state.js";
import { nearBottom, scrollToBottom, separators } from "./timeline.js";
import { icon } from "./util.js";
import { T } from "./vocab.js";

// ---------------------------------------------------------------- internal notes
export function appendNote(data, at) {
  separators(at, S.openId);
  const author = data.agent_id !== undefined && S.me && data.agent_id === S.me.id ? "Você" :
    (data.agent_name || who(data.agent_id));
  const node = el("li", { className: "note", "data-testid": "note" }, [
    el("div", { className: "bubble" }, [
      el("span", { className: "note-label" }, [icon("lock", 13),
        el("span", { text: T.internalNote + " · " + author })]),
      el("p", { className: "text", text: String(data.text || "") })
    ]),
    el("div", { className: "meta" }, [el("time", { datetime: at || null, text: stamp(at) })])
  ]);
  ui.timeline.appendChild(node);
  return node;
}

export function liveNote(note) {
  const at = new Date().toISOString();
  S.liveLog.push({ kind: "note", note: note, at: at });
  appendNote(note, at);
}


export function onNote(frame) {
  if (!isOpen(frame) || !frame.note || !S.detail) return;
  const now = Date.now();
  S.noteEchoes = S.noteEchoes.filter(function (n) { return n.until > now; });
  const mine = S.me && frame.note.agent_id === S.me.id;
  const i = mine ? S.noteEchoes.findIndex(function (n) { return n.text === frame.note.text; }) : -1;
  if (i >= 0) { // the echo of a note this tab already shows
    S.noteEchoes.splice(i, 1);
    return;
  }
  const stick = nearBottom();
  liveNote(frame.note);
  if (stick) scrollToBottom();
}
