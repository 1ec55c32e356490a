/*
 * atende staff pages: the staff WebSocket (/api/staff/ws) and the reconnect backoff.
 * The socket is closed with 4401 when the session ends (go to /login) and 4403 when refused
 * (origin): pages then keep working by polling.
 */

export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_REFUSED = 4403;

export function staffSocketUrl() {
  return (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + "/api/staff/ws";
}

/** Exponential backoff with "equal jitter": a random delay in [cap/2, cap], cap = base·2^attempt ≤ max. */
export function backoffDelay(attempt, baseMs, maxMs) {
  const cap = Math.min(maxMs, baseMs * Math.pow(2, attempt));
  return cap / 2 + Math.random() * cap / 2;
}

/**
 * Open the staff socket. handlers: onOpen(), onFrame(frame) for every JSON object frame,
 * onClose(event). Returns the socket, or null when the browser refused to create it.
 * Events of a socket the caller has replaced (isCurrent(ws) false) are ignored.
 */
export function openStaffSocket(handlers) {
  const h = handlers || {};
  const isCurrent = h.isCurrent || function () { return true; };
  let ws;
  try {
    ws = new WebSocket(staffSocketUrl());
  } catch (e) {
    return null;
  }
  ws.addEventListener("open", function () { if (isCurrent(ws) && h.onOpen) h.onOpen(); });
  ws.addEventListener("message", function (ev) {
    if (!isCurrent(ws) || typeof ev.data !== "string") return;
    let frame;
    try { frame = JSON.parse(ev.data); } catch (e) { return; }
    if (frame && typeof frame === "object" && h.onFrame) h.onFrame(frame);
  });
  ws.addEventListener("close", function (ev) { if (isCurrent(ws) && h.onClose) h.onClose(ev); });
  return ws;
}
