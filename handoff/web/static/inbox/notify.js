// atende inbox (/inbox): notify — see /inbox/inbox.js.
import { $, announce as announceIn, el } from "../lib/dom.js";
import { openConversation } from "./conversation.js";
import { BASE_TITLE, S, ui } from "./state.js";

// ---------------------------------------------------------------- toasts, announcements, title
export function toast(text, kind) {
  if (!text) return;
  const node = el("div", { className: "toast toast--" + (kind || "info"), "data-testid": "toast" }, [
    el("span", { text: text }),
    el("button", { type: "button", className: "toast-close", "aria-label": "Fechar aviso", text: "×" })
  ]);
  node.lastChild.addEventListener("click", function () { node.remove(); });
  ui.toasts.appendChild(node);
  setTimeout(function () { node.remove(); }, kind === "error" ? 9000 : 6000);
}

export function announce(text) {
  announceIn(ui.announcer, text);
}

export function suppressed(id) {
  const until = S.suppress.get(id);
  return until !== undefined && until > Date.now();
}

export function actedOn(id) {
  S.suppress.set(id, Date.now() + 15000);
}

export function updateBadges() {
  const ids = function (list) { return new Set(list.map(function (c) { return c.conversation_id || c.id; })); };
  const inQueue = ids(S.queue);
  const inMine = ids(S.mine);
  let q = 0;
  let m = 0;
  S.unread.forEach(function (id) {
    if (inQueue.has(id)) q += 1;
    else if (inMine.has(id)) m += 1;
  });
  [["queue", q], ["mine", m]].forEach(function (pair) {
    const badge = $('[data-badge="' + pair[0] + '"]');
    badge.hidden = pair[1] === 0;
    badge.textContent = pair[1] ? (pair[1] > 9 ? "9+" : String(pair[1])) : "";
    badge.setAttribute("aria-label", pair[1] === 1 ? "1 nova" : pair[1] + " novas");
  });
  const total = q + m;
  document.title = total ? "(" + total + ") " + BASE_TITLE : BASE_TITLE;
}

// ---------------------------------------------------------------- notifications
export function notificationsSupported() { return "Notification" in window; }

export function updateNotifyButton() {
  ui.notifyBtn.hidden = !notificationsSupported() || Notification.permission !== "default";
}

export function notify(title, body, convId) {
  if (!notificationsSupported() || Notification.permission !== "granted") return;
  // While the attendant is looking at the inbox, the badges and the title are enough.
  if (!document.hidden && document.hasFocus()) return;
  try {
    const n = new Notification(title, { body: body, tag: "atende-" + convId, lang: "pt-BR" });
    n.onclick = function () {
      window.focus();
      openConversation(convId);
      n.close();
    };
  } catch (e) { /* some platforms allow notifications from service workers only */ }
}
