/*
 * atende: the attendant inbox (/inbox).
 *
 * Left: the waiting queue (most urgent first, as GET /api/queue orders it) and "Minhas
 * conversas"; center: the whole cross-channel history of the open conversation, the reply box
 * (quick replies, internal notes) and the actions (claim, tags, transfer, wait, resolve, reopen);
 * right: what the bot knew and the patient card.
 * Live: the staff WebSocket (/api/staff/ws) pushes handoffs, messages and state changes; the
 * lists are also refreshed every 30 s, so nothing is missed while the socket reconnects.
 *
 * Contract: docs/CONTRACTS.md ("Issue 4 … Staff API"). Native ES modules, no dependencies, no build:
 * this entry wires the panels in /static/inbox/ (queue, conversation, timeline, notes, context,
 * composer, templates, actions, live) and the shared lib in /static/lib/.
 * Safety: every server string is assigned with textContent (never parsed as HTML); the page is
 * served with a CSP that forbids inline scripts. Privacy: browser notifications name the reason
 * and the channel only, never the patient or the message text; nothing is logged to the console.
 */
import { loadAgents, toggleContext } from "/static/inbox/actions.js";
import { renderQuickReplies, updateComposerMode } from "/static/inbox/composer.js";
import { isSupervisor, openConversation, renderHeader } from "/static/inbox/conversation.js";
import { api } from "/static/inbox/http.js";
import { applyMe, connect, reconnectNow } from "/static/inbox/live.js";
import { toast, updateNotifyButton } from "/static/inbox/notify.js";
import { loadLists, renderLists, scheduleListPolling, tick } from "/static/inbox/queue.js";
import { S, ui } from "/static/inbox/state.js";

// ---------------------------------------------------------------- start
async function start() {
  let me;
  try {
    me = await api("GET", "/api/auth/me");
  } catch (e) {
    if (e.status !== 401) {
      toast(e.message, "error");
      setTimeout(start, 5000);
    }
    return; // 401: api() went to /login already
  }
  applyMe(me);
  if (isSupervisor()) { // names of the team (only managers may list it)
    loadAgents().then(function () {
      if (S.detail) { renderHeader(); updateComposerMode(); }
    });
  }
  renderQuickReplies();
  updateNotifyButton();
  document.body.setAttribute("data-ready", "true");
  await loadLists();
  connect();
  scheduleListPolling();
  setInterval(tick, 1000);
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    reconnectNow();
    if (S.openId && S.unread.delete(S.openId)) renderLists();
  });
  window.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && ui.app.getAttribute("data-ctx") === "open" && !document.querySelector("dialog[open]")) {
      toggleContext(false);
    }
  });
  const wanted = new URLSearchParams(window.location.search).get("c");
  if (wanted) openConversation(wanted);
}


start();
