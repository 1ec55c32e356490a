/*
 * atende: website chat widget.
 *
 * Embed with one tag, from any site:
 *     <script src="https://HUB/webchat/widget.js" defer></script>
 * Optional attribute: data-title="Clínica X" (panel title).
 *
 * This file is the loader, what must run while the tag executes: it finds its own URL
 * (document.currentScript exists only then), holds the settings and the pt-BR texts, installs the
 * AtendeWidget placeholder (a page may call AtendeWidget.open() before the widget is ready), then
 * loads the widget's two other classic scripts from the same folder, run in this order:
 *     widget_transport.js  storage, the outbox, sending and the WebSocket connection;
 *     widget_ui.js         the launcher, the panel, the messages, and start().
 * They share one internal object, window.__atendeWidget (removed once the widget starts); when
 * both have run and the page has a body, the widget starts.
 *
 * Protocol: docs/CONTRACTS.md ("Website chat WebSocket"). Vanilla JS: no dependencies, no build.
 * Safety: message text is only ever assigned with textContent (never parsed as HTML).
 * Privacy: nothing is logged to the console; the visitor id and the unsent messages stay in
 * this browser's localStorage until they are acknowledged by the server.
 */
(function () {
  "use strict";

  if (window.AtendeWidget) return; // embedded twice: the first copy wins

  var script = document.currentScript || findScript();
  if (!script || !script.src) return;

  var SRC = new URL(script.src, window.location.href);
  var BASE_PATH = SRC.pathname.replace(/\/[^/]*$/, ""); // ".../webchat"
  var HTTP_BASE = SRC.origin + BASE_PATH;
  var WS_URL = (SRC.protocol === "https:" ? "wss://" : "ws://") + SRC.host + BASE_PATH + "/ws";

  var MAX_TEXT = 2000; // server limit (characters); JS counts UTF-16 units, so we are never looser

  // User-facing texts (pt-BR).
  var T = {
    title: script.getAttribute("data-title") || "Atendimento",
    subtitle: "Assistente virtual e equipe da clínica",
    open: "Abrir chat de atendimento",
    close: "Fechar chat",
    unread: function (n) { return n === 1 ? "1 nova mensagem" : n + " novas mensagens"; },
    welcome: "Olá! Envie sua mensagem e responderemos por aqui.",
    emergency: "Em caso de emergência, ligue 192 (SAMU).",
    privacy: "Aviso de privacidade",
    logLabel: "Mensagens da conversa",
    inputLabel: "Sua mensagem",
    placeholder: "Escreva sua mensagem…",
    send: "Enviar mensagem",
    typing: "digitando…",
    connecting: "Conectando…",
    reconnecting: "Sem conexão com o chat. Reconectando…",
    offline: "Você está sem internet. Reconectando assim que possível…",
    online: "Conectado",
    pending: "Enviando…",
    sent: "Enviada",
    failed: "Não enviada",
    quickReplies: "Respostas rápidas",
    dismiss: "Fechar aviso",
    tooLong: "Sua mensagem é longa demais (máximo de " + MAX_TEXT + " caracteres). Divida em partes, por favor.",
    genericError: "Não foi possível enviar. Tente novamente.",
    counter: function (n) { return n + " de " + MAX_TEXT + " caracteres"; },
    senders: { patient: "Você", bot: "Assistente virtual", agent: "Atendente", system: "Clínica" }
  };

  function findScript() {
    var all = document.getElementsByTagName("script");
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(?:[?#]|$)/.test(all[i].src)) return all[i];
    }
    return null;
  }

  // ---------------------------------------------------------------- shared with the parts
  var PARTS = ["transport", "ui"]; // widget_<part>.js, run in this order
  var A = {
    SRC: SRC,
    HTTP_BASE: HTTP_BASE,
    WS_URL: WS_URL,
    MAX_TEXT: MAX_TEXT,
    T: T,
    openRequested: false, // AtendeWidget.open() was called before start()
    ran: {}, // part name -> true once it has run
    booted: false, // start() was called (or waits for the DOM)
    state: {
      visitor: null, // set by widget_transport.js
      ws: null,
      gen: 0, // connection generation: what was sent on an older socket must be sent again
      ready: false, // history received on the current socket
      wanted: false, // we should stay connected
      attempts: 0,
      reconnectTimer: null,
      connectTimer: null,
      open: false,
      unread: 0,
      holdUntil: 0, // rate limited: send nothing before this time
      ratePause: 0,
      flushTimer: null,
      typingTimer: null,
      errorKind: null,
      records: [], // rendered messages, in display order
      byId: {}, // server id -> record
      byClient: {} // client_id -> record
    },
    ui: {} // the widget's elements (widget_ui.js)
  };

  // Each part calls this when it has run; the last one starts the widget (A.start, widget_ui.js).
  A.partReady = function (name) {
    A.ran[name] = true;
    if (A.booted || !PARTS.every(function (p) { return A.ran[p]; })) return;
    A.booted = true;
    delete window.__atendeWidget;
    if (document.body) A.start();
    else document.addEventListener("DOMContentLoaded", A.start);
  };

  // ---------------------------------------------------------------- load the parts
  // Placeholder until start(): a page may call AtendeWidget.open() before the DOM is ready.
  window.AtendeWidget = { open: function () { A.openRequested = true; }, close: function () { A.openRequested = false; } };
  window.__atendeWidget = A;
  PARTS.forEach(function (name) {
    var tag = document.createElement("script");
    tag.src = HTTP_BASE + "/widget_" + name + ".js";
    tag.async = false; // injected scripts otherwise run in whatever order they arrive
    if (script.nonce) tag.nonce = script.nonce; // a host page whose CSP trusts this tag by nonce
    (document.head || document.documentElement).appendChild(tag);
  });
})();
