// atende inbox (/inbox): live — see /inbox/inbox.js.
import { toLogin } from "../lib/api.js";
import { backoffDelay, CLOSE_REFUSED, CLOSE_UNAUTHORIZED, openStaffSocket } from "../lib/ws.js";
import { refreshDetail } from "./conversation.js";
import { api } from "./http.js";
import { onNote } from "./notes.js";
import { announce, notificationsSupported, notify, toast, updateNotifyButton } from "./notify.js";
import { refreshLists, scheduleListPolling } from "./queue.js";
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, PING_MS, S, SUPERVISORS, ui } from "./state.js";
import { liveMessage } from "./timeline.js";
import { label } from "./util.js";
import { CHANNELS, REQUEUE_REASONS, STATES, T } from "./vocab.js";

// ---------------------------------------------------------------- presence, me, logout
export function applyMe(me) {
  if (!me) return;
  S.me = me;
  ui.meName.textContent = me.name || me.email || "";
  ui.dashLink.hidden = !SUPERVISORS[me.role];
  ui.teamLink.hidden = me.role !== "admin";
  // the audit viewer: admins and the privacy officer (grant), as handoff/domain/access.py says
  ui.auditLink.hidden = !(me.role === "admin" || (me.grants || []).indexOf("privacy_officer") >= 0);
  ui.botLink.hidden = !SUPERVISORS[me.role];
  ui.integrationsLink.hidden = !SUPERVISORS[me.role];  // the integrations delivery log (access "integrations")
  ui.remindersLink.hidden = !SUPERVISORS[me.role];  // the reminder editor (access "reminder_settings")
  setPresence(me.presence);
}

export function setPresence(status) {
  const value = status === "away" ? "away" : "online";
  ui.presence.value = value;
  ui.presenceWrap.setAttribute("data-presence", S.wsReady ? (status || "online") : "offline");
}

ui.presence.addEventListener("change", async function () {
  const wanted = ui.presence.value;
  try {
    const res = await api("PUT", "/api/agents/me/presence", { status: wanted });
    if (S.me) S.me.presence = res.status;
    setPresence(res.status);
    announce(wanted === "away" ? "Você está ausente: não receberá novas conversas." : "Você está online.");
  } catch (e) {
    if (e.status !== 401) toast(e.message, "error");
    setPresence(S.me && S.me.presence);
  }
});

ui.logout.addEventListener("click", async function () {
  try { await api("POST", "/api/auth/logout"); } catch (e) { /* the cookie may be gone already */ }
  window.location.replace("/login");
});

ui.notifyBtn.addEventListener("click", function () {
  if (!notificationsSupported()) return;
  Promise.resolve(Notification.requestPermission()).then(function (p) {
    if (p === "denied") toast(T.notificationsBlocked, "error");
    updateNotifyButton();
  });
});

// ---------------------------------------------------------------- live socket
export function setLive(state) {
  ui.live.setAttribute("data-state", state);
  ui.live.textContent = T.live[state] || "";
  const presence = state === "online" ? ((S.me && S.me.presence) || "online") : "offline";
  ui.presenceWrap.setAttribute("data-presence", presence);
}

export function connect() {
  clearTimeout(S.reconnectTimer);
  S.reconnectTimer = null;
  if (S.ws) return;
  setLive(S.attempts ? "reconnecting" : "connecting");
  const ws = openStaffSocket({
    isCurrent: function (socket) { return S.ws === socket; },
    onFrame: onFrame,
    onClose: onClose
  });
  if (!ws) {
    scheduleReconnect();
    return;
  }
  S.ws = ws;
}

export function onClose(ev) {
  S.ws = null;
  S.wsReady = false;
  clearInterval(S.pingTimer);
  if (ev.code === CLOSE_UNAUTHORIZED) { toLogin(); return; }
  if (ev.code === CLOSE_REFUSED) { // refused (origin): keep working by polling
    setLive("error");
    scheduleListPolling();
    return;
  }
  scheduleReconnect();
}

// Exponential backoff with "equal jitter": a random delay in [cap/2, cap].
export function scheduleReconnect() {
  const delay = backoffDelay(S.attempts, BACKOFF_BASE_MS, BACKOFF_MAX_MS);
  S.attempts += 1;
  setLive(navigator.onLine === false ? "offline" : "reconnecting");
  clearTimeout(S.reconnectTimer);
  S.reconnectTimer = setTimeout(connect, delay);
  scheduleListPolling();
}

export function reconnectNow() {
  if (!S.ws) {
    S.attempts = Math.min(S.attempts, 1);
    connect();
  }
}

export function onHello(frame) {
  S.wsReady = true;
  S.attempts = 0;
  applyMe(frame.me);
  setLive("online");
  clearInterval(S.pingTimer);
  S.pingTimer = setInterval(function () {
    if (S.ws && S.ws.readyState === 1) S.ws.send(JSON.stringify({ type: "ping" }));
  }, PING_MS);
  if (S.hadConnection) { // events may have been missed while away: catch up
    refreshLists(0);
    if (S.openId) refreshDetail();
  }
  S.hadConnection = true;
  scheduleListPolling();
}

export function isOpen(frame) { return !!frame.conversation_id && frame.conversation_id === S.openId; }

export function onFrame(frame) {
  const mineEvent = S.me && frame.agent_id === S.me.id;
  if (typeof frame.agent_name === "string" && typeof frame.agent_id === "number") {
    S.names[frame.agent_id] = frame.agent_name;
  }
  switch (frame.type) {
    case "hello": onHello(frame); break;
    case "pong": break;
    case "handoff":
    case "queue_changed":
    case "assigned":
    case "patient_merged":
      refreshLists();
      if (isOpen(frame)) refreshDetail();
      break;
    case "requeued":
      refreshLists();
      if (isOpen(frame)) refreshDetail();
      if (mineEvent) {
        toast(T.requeued + (frame.reason ? " (" + label(REQUEUE_REASONS, frame.reason) + ")" : "") + ".", "warn");
      }
      break;
    case "patient_message": onPatientMessage(frame); break;
    case "message":
      if (isOpen(frame) && frame.message && S.detail) {
        liveMessage(Object.assign({ conversation_id: frame.conversation_id, channel: frame.channel }, frame.message));
      } else if (isOpen(frame)) {
        refreshDetail();
      }
      break;
    case "note": onNote(frame); break;
    case "csat":
      if (isOpen(frame)) refreshDetail();
      if (mineEvent) toast(T.csat(frame.score), "ok");
      break;
    case "nps":
      if (isOpen(frame)) refreshDetail();
      if (mineEvent) toast(T.nps(frame.score), "ok");
      break;
    case "sla_warning":
    case "sla_breach":
    case "escalation":
      refreshLists();
      if (isOpen(frame)) refreshDetail();
      if (mineEvent) toast(frame.type === "sla_warning" ? T.slaWarning : T.slaBreach, "warn");
      break;
    case "presence":
      if (Array.isArray(S.agents)) {
        const agent = S.agents.find(function (a) { return a.id === frame.agent_id; });
        if (agent) agent.presence = frame.status;
      }
      if (mineEvent && S.me) {
        S.me.presence = frame.status;
        setPresence(frame.status);
      }
      break;
    case "delivery_failed":
      if (isOpen(frame)) {
        refreshDetail();
        toast(T.deliveryFailed, "error");
      }
      break;
    default: break; // unknown frames are ignored (forward compatible)
  }
}

export function onPatientMessage(frame) {
  const id = frame.conversation_id;
  if (isOpen(frame)) {
    if (frame.message && S.detail) {
      liveMessage(Object.assign({ conversation_id: id, channel: frame.channel }, frame.message));
    } else {
      refreshDetail();
    }
  }
  if (id && (id !== S.openId || document.hidden)) {
    S.unread.add(id);
    const what = label(CHANNELS, frame.channel) + (frame.state ? " · " + label(STATES, frame.state) : "");
    notify(T.patientTitle, what, id);
    if (id !== S.openId) announce(T.patientTitle + " (" + what + ")");
  }
  refreshLists();
}
