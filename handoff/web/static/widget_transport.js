/*
 * atende: website chat widget, part 1 of 2 (loaded by widget.js, which documents the embedding):
 * storage (localStorage with a memory fallback), the outbox of unacknowledged messages, sending,
 * and the WebSocket connection with its reconnect backoff and the server's frames.
 * A classic script: it only runs through widget.js (window.__atendeWidget), once.
 */
(function (A) {
  "use strict";

  if (!A || A.ran.transport) return;

  var SRC = A.SRC;
  var WS_URL = A.WS_URL;
  var MAX_TEXT = A.MAX_TEXT;
  var T = A.T;
  var state = A.state;
  var ui = A.ui;

  var OUTBOX_MAX = 50;
  var BACKOFF_BASE_MS = 500;
  var BACKOFF_MAX_MS = 30000;
  var CONNECT_TIMEOUT_MS = 10000;
  var RATE_PAUSE_MS = 3000;
  var RATE_PAUSE_MAX_MS = 20000;
  var STORE = "atende:" + SRC.host + ":"; // one visitor per hub, even if a site embeds several
  var ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  var VISITOR_RE = /^[A-Za-z0-9_-]{32,128}$/;
  var CLIENT_ID_RE = /^[A-Za-z0-9_-]{8,64}$/;
  var inflight = {}; // client_id -> generation it was last sent on

  // From widget_ui.js (looked up when called).
  function showError(text, kind) { A.showError(text, kind); }
  function hideError() { A.hideError(); }
  function showTyping() { A.showTyping(); }
  function hideTyping() { A.hideTyping(); }
  function setConnState(name) { A.setConnState(name); }
  function scrollToBottom(force) { A.scrollToBottom(force); }
  function setRecordStatus(rec, status) { A.setRecordStatus(rec, status); }
  function addServerMessage(m, live) { A.addServerMessage(m, live); }
  function addPending(item) { return A.addPending(item); }
  function refreshChips() { A.refreshChips(); }

  // ---------------------------------------------------------------- storage
  // localStorage can be missing or throw (private mode, blocked storage): fall back to memory.
  var memory = {};

  function readKey(key, session) {
    var k = (session ? "s:" : "l:") + key;
    try {
      var v = (session ? window.sessionStorage : window.localStorage).getItem(STORE + key);
      return v === null && k in memory ? memory[k] : v;
    } catch (e) {
      return k in memory ? memory[k] : null;
    }
  }

  function writeKey(key, value, session) {
    var k = (session ? "s:" : "l:") + key;
    if (value === null) delete memory[k]; else memory[k] = value;
    try {
      var s = session ? window.sessionStorage : window.localStorage;
      if (value === null) s.removeItem(STORE + key); else s.setItem(STORE + key, value);
      delete memory[k];
    } catch (e) { /* kept in memory for this page only */ }
  }

  function randomId(length) {
    var bytes = new Uint8Array(length);
    window.crypto.getRandomValues(bytes);
    var out = "";
    for (var i = 0; i < length; i++) out += ID_ALPHABET.charAt(bytes[i] & 63); // 256 % 64 == 0: unbiased
    return out;
  }

  function loadVisitor(forceNew) {
    var id = forceNew ? null : readKey("visitor");
    if (!id || !VISITOR_RE.test(id)) {
      id = randomId(43); // 258 random bits
      writeKey("visitor", id);
    }
    return id;
  }

  // The outbox holds messages the server has not acknowledged yet, in the order they were written.
  // It lives in localStorage so a reload, a crash or a lost connection never loses a message; the
  // server dedupes on client_id, so resending is always safe.
  function outboxRead() {
    try {
      var list = JSON.parse(readKey("outbox") || "[]");
      if (!Array.isArray(list)) return [];
      return list.filter(function (it) {
        return it && typeof it.client_id === "string" && CLIENT_ID_RE.test(it.client_id) &&
          typeof it.text === "string" && (it.payload === null || typeof it.payload === "string");
      });
    } catch (e) {
      return [];
    }
  }

  function outboxWrite(list) {
    writeKey("outbox", list.length ? JSON.stringify(list.slice(-OUTBOX_MAX)) : null);
  }

  function outboxAdd(item) {
    var list = outboxRead();
    if (!list.some(function (it) { return it.client_id === item.client_id; })) list.push(item);
    outboxWrite(list);
  }

  function outboxRemove(clientId) {
    var list = outboxRead();
    var kept = list.filter(function (it) { return it.client_id !== clientId; });
    if (kept.length !== list.length) outboxWrite(kept);
  }

  // ---------------------------------------------------------------- acknowledgements
  function markSent(rec) {
    setRecordStatus(rec, "sent");
    if (rec.clientId) {
      outboxRemove(rec.clientId);
      delete inflight[rec.clientId];
    }
  }

  function markFailed(clientId) {
    var rec = state.byClient[clientId];
    if (rec && rec.status !== "sent") setRecordStatus(rec, "failed");
    outboxRemove(clientId);
    delete inflight[clientId];
  }

  // ---------------------------------------------------------------- sending
  function send(text, payload) {
    var clean = String(text || "").replace(/^\s+|\s+$/g, "");
    if (!clean && !payload) return false;
    if (clean.length > MAX_TEXT) {
      showError(T.tooLong, "too_long");
      return false;
    }
    if (state.errorKind !== "rate") hideError();
    var item = { client_id: randomId(22), text: clean, payload: payload || null,
      created_at: new Date().toISOString() };
    outboxAdd(item);
    writeKey("started", "1");
    addPending(item);
    refreshChips();
    scrollToBottom(true);
    ensureConnected();
    flush();
    return true;
  }

  // Send every unacknowledged message not yet sent on the current socket, oldest first.
  function flush() {
    if (!state.ready || !state.ws || state.ws.readyState !== 1) return;
    var wait = state.holdUntil - Date.now();
    if (wait > 0) {
      if (!state.flushTimer) {
        state.flushTimer = setTimeout(function () { state.flushTimer = null; flush(); }, wait);
      }
      return;
    }
    outboxRead().forEach(function (it) {
      var rec = state.byClient[it.client_id];
      if (!rec || rec.status === "failed") return; // another tab's message: that tab sends it
      if (inflight[it.client_id] === state.gen) return;
      state.ws.send(JSON.stringify({ type: "message", client_id: it.client_id, text: it.text,
        payload: it.payload || null }));
      inflight[it.client_id] = state.gen;
    });
  }

  // ---------------------------------------------------------------- connection
  function ensureConnected() {
    state.wanted = true;
    if (!state.ws && !state.reconnectTimer) connect(); // a pending retry keeps its backoff
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (state.ws) return;
    state.gen += 1;
    state.ready = false;
    setConnState(state.attempts ? (navigator.onLine === false ? "offline" : "reconnecting") : "connecting");
    var ws;
    try {
      ws = new WebSocket(WS_URL + "?visitor=" + encodeURIComponent(state.visitor));
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    clearTimeout(state.connectTimer);
    state.connectTimer = setTimeout(function () {
      if (state.ws === ws && !state.ready) ws.close();
    }, CONNECT_TIMEOUT_MS);
    ws.onmessage = function (ev) {
      if (state.ws !== ws || typeof ev.data !== "string") return;
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (frame && typeof frame === "object") onFrame(frame);
    };
    ws.onclose = function (ev) {
      if (state.ws !== ws) return;
      clearTimeout(state.connectTimer);
      state.ws = null;
      state.ready = false;
      hideTyping();
      if (ev.code === 4400) { // the server refused our visitor id: start over with a new one
        state.visitor = loadVisitor(true);
        outboxWrite([]);
      }
      scheduleReconnect();
    };
  }

  // Exponential backoff with "equal jitter": a random delay in [cap/2, cap].
  function scheduleReconnect() {
    if (!state.wanted) {
      setConnState("idle");
      return;
    }
    var cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, state.attempts));
    state.attempts += 1;
    setConnState(navigator.onLine === false ? "offline" : "reconnecting");
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(connect, cap / 2 + Math.random() * cap / 2);
  }

  function reconnectNow() {
    if (state.wanted && !state.ws) {
      state.attempts = Math.min(state.attempts, 1);
      connect();
    }
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "history": onHistory(frame); break;
      case "message": addServerMessage(frame, true); break;
      case "ack": onAck(frame); break;
      case "typing": if (frame.on) showTyping(); else hideTyping(); break;
      case "error": onError(frame); break;
      default: break; // unknown frames are ignored (forward compatible)
    }
  }

  function onHistory(frame) {
    clearTimeout(state.connectTimer);
    state.ready = true;
    state.attempts = 0;
    setConnState("online");
    ui.list.setAttribute("aria-busy", "true"); // do not read the whole history aloud
    ui.list.textContent = "";
    state.records = [];
    state.byId = {};
    state.byClient = {};
    var messages = Array.isArray(frame.messages) ? frame.messages : [];
    messages.forEach(function (m) { addServerMessage(m, false); });
    if (messages.length) writeKey("started", "1");
    outboxRead().forEach(function (it) {
      if (state.byClient[it.client_id]) outboxRemove(it.client_id); // stored before we lost the ack
      else addPending(it);
    });
    refreshChips();
    ui.list.removeAttribute("aria-busy");
    if (state.errorKind === "rate") hideError();
    scrollToBottom(true);
    flush();
  }

  function onAck(frame) {
    var rec = typeof frame.client_id === "string" ? state.byClient[frame.client_id] : null;
    if (!rec) {
      if (typeof frame.client_id === "string") outboxRemove(frame.client_id);
      return;
    }
    if (rec.id === null && typeof frame.id === "number") {
      rec.id = frame.id;
      state.byId[frame.id] = rec;
    }
    markSent(rec);
    state.ratePause = 0;
    if (state.errorKind === "rate") hideError();
  }

  function onError(frame) {
    var text = typeof frame.message === "string" && frame.message ? frame.message : T.genericError;
    var clientId = typeof frame.client_id === "string" ? frame.client_id : null;
    if (frame.code === "rate_limited") {
      // Not stored: keep it pending and send it (and everything after it) again after a pause.
      if (clientId) delete inflight[clientId];
      state.ratePause = state.ratePause ? Math.min(state.ratePause * 2, RATE_PAUSE_MAX_MS) : RATE_PAUSE_MS;
      state.holdUntil = Date.now() + state.ratePause * (0.8 + Math.random() * 0.4);
      showError(text, "rate");
      flush();
      return;
    }
    if (clientId && (frame.code === "too_long" || frame.code === "bad_frame" || frame.code === "empty")) {
      markFailed(clientId); // resending the same message cannot succeed
    }
    showError(text, frame.code || "error");
  }

  // ---------------------------------------------------------------- shared with widget_ui.js
  state.visitor = loadVisitor(false);

  A.readKey = readKey;
  A.writeKey = writeKey;
  A.randomId = randomId;
  A.outboxRead = outboxRead;
  A.markSent = markSent;
  A.send = send;
  A.ensureConnected = ensureConnected;
  A.reconnectNow = reconnectNow;
  A.partReady("transport");
})(window.__atendeWidget);
