/*
 * atende: website chat widget, part 2 of 2 (loaded by widget.js, which documents the embedding):
 * the launcher and the panel, the messages and their quick-reply chips, and start().
 * Safety: message text is only ever assigned with textContent (never parsed as HTML).
 * A classic script: it only runs through widget.js (window.__atendeWidget), once.
 */
(function (A) {
  "use strict";

  if (!A || A.ran.ui) return;

  var SRC = A.SRC;
  var HTTP_BASE = A.HTTP_BASE;
  var MAX_TEXT = A.MAX_TEXT;
  var T = A.T;
  var state = A.state;
  var ui = A.ui;

  var COUNTER_FROM = 1800; // show the character counter from here on
  var TYPING_TIMEOUT_MS = 30000;
  var SENDERS = { patient: 1, bot: 1, agent: 1, system: 1 };

  // From widget_transport.js (looked up when called).
  function readKey(key, session) { return A.readKey(key, session); }
  function writeKey(key, value, session) { A.writeKey(key, value, session); }
  function randomId(length) { return A.randomId(length); }
  function outboxRead() { return A.outboxRead(); }
  function markSent(rec) { A.markSent(rec); }
  function send(text, payload) { return A.send(text, payload); }
  function ensureConnected() { A.ensureConnected(); }
  function reconnectNow() { A.reconnectNow(); }

  // ---------------------------------------------------------------- DOM helpers
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") node.textContent = String(v);
        else if (k === "className") node.className = v;
        else node.setAttribute(k, v === true ? "" : String(v));
      });
    }
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  var SVG_NS = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: ["M21 11.5a8.38 8.38 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.38 8.38 0 0 1-3.8-.9L3 21l1.9-5.7" +
      "a8.38 8.38 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.38 8.38 0 0 1 3.8-.9h.5a8.48 8.48 0 0 1 8 8v.5z"],
    close: ["M18 6 6 18", "M6 6l12 12"],
    send: ["M22 2 11 13", "M22 2l-7 20-4-9-9-4 20-7z"],
    pulse: ["M22 12h-4l-3 9L9 3l-3 9H2"]
  };

  function icon(name, size) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size || 24));
    svg.setAttribute("height", String(size || 24));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "atende-icon");
    ICONS[name].forEach(function (d) {
      var p = document.createElementNS(SVG_NS, "path");
      p.setAttribute("d", d);
      svg.appendChild(p);
    });
    return svg;
  }

  function formatTime(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d.getTime())) return "";
    try {
      return d.toLocaleTimeString("pt-BR", { hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
    }
  }

  // ---------------------------------------------------------------- UI
  function buildUi() {
    var uid = randomId(8).replace(/[^A-Za-z0-9]/g, "x");
    var panelId = "atende-panel-" + uid;
    var titleId = "atende-title-" + uid;
    var inputId = "atende-input-" + uid;
    var counterId = "atende-counter-" + uid;

    ui.badge = el("span", { className: "atende-badge", "aria-hidden": "true", hidden: true });
    ui.launcher = el("button", {
      type: "button", className: "atende-launcher", "data-testid": "atende-launcher",
      "aria-label": T.open, "aria-expanded": "false", "aria-controls": panelId, "aria-haspopup": "dialog"
    }, [icon("chat", 28), ui.badge]);

    ui.closeBtn = el("button", { type: "button", className: "atende-close", "aria-label": T.close, title: T.close },
      [icon("close", 22)]);
    var header = el("header", { className: "atende-header" }, [
      el("div", { className: "atende-avatar", "aria-hidden": "true" }, [icon("pulse", 22)]),
      el("div", { className: "atende-heading" }, [
        el("h2", { id: titleId, className: "atende-title", text: T.title }),
        el("p", { className: "atende-subtitle", text: T.subtitle })
      ]),
      ui.closeBtn
    ]);

    ui.status = el("div", { className: "atende-status", role: "status", "data-testid": "atende-status",
      "data-state": "idle", hidden: true });
    ui.list = el("div", { className: "atende-list", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-label": T.logLabel });
    ui.typing = el("div", { className: "atende-typing", "data-testid": "atende-typing", hidden: true }, [
      el("span", { className: "atende-dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
      el("span", { className: "atende-typing-text", text: T.typing })
    ]);
    ui.scroller = el("div", { className: "atende-scroll", tabindex: "-1" }, [
      el("p", { className: "atende-welcome", text: T.welcome }),
      ui.list,
      ui.typing
    ]);

    ui.errorText = el("span", { className: "atende-error-text" });
    ui.errorClose = el("button", { type: "button", className: "atende-error-close", "aria-label": T.dismiss,
      title: T.dismiss }, [icon("close", 16)]);
    ui.error = el("div", { className: "atende-error", role: "alert", "data-testid": "atende-error", hidden: true },
      [ui.errorText, ui.errorClose]);

    ui.input = el("textarea", {
      id: inputId, className: "atende-input", "data-testid": "atende-input", rows: "1",
      placeholder: T.placeholder, "aria-describedby": counterId, autocomplete: "off", enterkeyhint: "send"
    });
    ui.counter = el("span", { id: counterId, className: "atende-counter", hidden: true });
    ui.send = el("button", { type: "submit", className: "atende-send", "data-testid": "atende-send",
      "aria-label": T.send, title: T.send }, [icon("send", 20)]);
    ui.form = el("form", { className: "atende-composer", novalidate: true }, [
      el("label", { className: "atende-sr-only", "for": inputId, text: T.inputLabel }),
      ui.input, ui.send, ui.counter
    ]);

    ui.panel = el("section", {
      id: panelId, className: "atende-panel", role: "dialog", "aria-modal": "false",
      "aria-labelledby": titleId, "data-testid": "atende-panel", hidden: true
    }, [header, ui.status, ui.scroller, ui.error, ui.form,
      el("p", { className: "atende-footnote", text: T.emergency + " " }, [
        el("a", { href: SRC.origin + "/privacidade/aviso", target: "_blank", rel: "noopener",
          "data-testid": "atende-privacy-link", text: T.privacy })])]);

    ui.root = el("div", { className: "atende-root" }, [ui.panel, ui.launcher]);
    ui.root.style.visibility = "hidden"; // until widget.css is loaded (no unstyled flash)
    document.body.appendChild(ui.root);

    ui.launcher.addEventListener("click", function () { if (state.open) closePanel(); else openPanel(true); });
    ui.closeBtn.addEventListener("click", closePanel);
    ui.errorClose.addEventListener("click", function () { hideError(); ui.input.focus(); });
    ui.panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); closePanel(); }
    });
    ui.input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey && !e.isComposing) {
        e.preventDefault();
        submit();
      }
    });
    ui.input.addEventListener("input", function () { autosize(); updateCounter(); });
    ui.form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
  }

  function injectCss(done) {
    var finished = false;
    function finish() {
      if (finished) return;
      finished = true;
      done();
    }
    if (document.querySelector("link[data-atende-css]")) { finish(); return; }
    var link = el("link", { rel: "stylesheet", href: HTTP_BASE + "/widget.css", "data-atende-css": "1" });
    link.addEventListener("load", finish);
    link.addEventListener("error", finish);
    setTimeout(finish, 3000);
    (document.head || document.documentElement).appendChild(link);
  }

  function openPanel(focus) {
    state.open = true;
    ui.panel.hidden = false;
    ui.root.classList.add("atende-root--open");
    document.documentElement.classList.add("atende-lock"); // CSS locks page scroll on phones only
    ui.launcher.setAttribute("aria-expanded", "true");
    writeKey("open", "1", true);
    clearUnread();
    ensureConnected();
    scrollToBottom(true);
    if (focus) ui.input.focus();
  }

  function closePanel() {
    if (!state.open) return;
    state.open = false;
    ui.panel.hidden = true;
    ui.root.classList.remove("atende-root--open");
    document.documentElement.classList.remove("atende-lock");
    ui.launcher.setAttribute("aria-expanded", "false");
    writeKey("open", null, true);
    ui.launcher.focus();
  }

  function clearUnread() {
    state.unread = 0;
    ui.badge.hidden = true;
    ui.badge.textContent = "";
    ui.launcher.setAttribute("aria-label", T.open);
  }

  function bumpUnread() {
    state.unread += 1;
    ui.badge.textContent = state.unread > 9 ? "9+" : String(state.unread);
    ui.badge.hidden = false;
    ui.launcher.setAttribute("aria-label", T.open + " (" + T.unread(state.unread) + ")");
  }

  function setConnState(name) {
    var texts = { connecting: T.connecting, reconnecting: T.reconnecting, offline: T.offline, online: T.online };
    ui.status.setAttribute("data-state", name);
    ui.status.textContent = texts[name] || "";
    ui.status.hidden = name === "online" || name === "idle";
    ui.root.setAttribute("data-connection", name);
  }

  function nearBottom() {
    var s = ui.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 96;
  }

  function scrollToBottom(force) {
    if (force || nearBottom()) ui.scroller.scrollTop = ui.scroller.scrollHeight;
  }

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight, 140) + "px";
  }

  function updateCounter() {
    var n = ui.input.value.length;
    var over = n > MAX_TEXT;
    ui.counter.hidden = n < COUNTER_FROM;
    ui.counter.textContent = n < COUNTER_FROM ? "" : n + "/" + MAX_TEXT;
    ui.counter.setAttribute("aria-label", T.counter(n));
    ui.counter.classList.toggle("atende-counter--over", over);
    ui.input.setAttribute("aria-invalid", over ? "true" : "false");
  }

  function showError(text, kind) {
    ui.errorText.textContent = text;
    ui.error.hidden = false;
    state.errorKind = kind || "error";
    scrollToBottom(false);
  }

  function hideError() {
    ui.error.hidden = true;
    ui.errorText.textContent = "";
    state.errorKind = null;
  }

  function showTyping() {
    var stick = nearBottom();
    ui.typing.hidden = false;
    if (stick) scrollToBottom(true);
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    ui.typing.hidden = true;
  }

  // ---------------------------------------------------------------- messages
  function setRecordStatus(rec, status) {
    if (rec.sender !== "patient") return;
    rec.status = status;
    rec.node.setAttribute("data-status", status);
    var label = status === "sent" ? T.sent : status === "failed" ? T.failed : T.pending;
    rec.statusEl.textContent = status === "sent" ? "✓" : label;
    rec.statusEl.setAttribute("aria-label", label);
    rec.statusEl.setAttribute("title", label);
    rec.statusEl.className = "atende-tick atende-tick--" + status;
  }

  function render(m) {
    var sender = m.sender;
    var prev = state.records[state.records.length - 1];
    var node = el("div", { className: "atende-msg atende-msg--" + sender, "data-testid": "atende-msg",
      "data-sender": sender });
    if (sender !== "patient" && sender !== "system" && (!prev || prev.sender !== sender)) {
      node.appendChild(el("div", { className: "atende-sender", "aria-hidden": "true", text: T.senders[sender] }));
    }
    var bubble = el("div", { className: "atende-bubble" }, [
      el("span", { className: "atende-sr-only", text: T.senders[sender] + ": " })
    ]);
    if (m.text) bubble.appendChild(el("p", { className: "atende-text", text: m.text })); // CSS keeps line breaks
    node.appendChild(bubble);

    var statusEl = el("span", { className: "atende-tick" });
    node.appendChild(el("div", { className: "atende-meta" }, [
      el("time", { datetime: m.created_at || null, text: formatTime(m.created_at) }),
      sender === "patient" ? statusEl : null
    ]));

    var rec = { id: null, clientId: m.client_id || null, sender: sender, node: node, statusEl: statusEl,
      status: null, chips: null, chipsEl: null, chipsUsed: false };
    var buttons = Array.isArray(m.buttons) ? m.buttons.filter(function (b) {
      return b && typeof b.title === "string" && b.title.trim();
    }) : [];
    if (buttons.length && sender !== "patient") {
      rec.chips = [];
      rec.chipsEl = el("div", { className: "atende-chips", role: "group", "aria-label": T.quickReplies });
      buttons.forEach(function (b) {
        var chip = el("button", { type: "button", className: "atende-chip", "data-testid": "atende-chip",
          text: b.title.trim() });
        chip.addEventListener("click", function () { chipClicked(rec, chip, b); });
        rec.chips.push(chip);
        rec.chipsEl.appendChild(chip);
      });
      node.appendChild(rec.chipsEl);
    }
    if (typeof m.id === "number") {
      rec.id = m.id;
      state.byId[m.id] = rec;
    }
    if (rec.clientId) state.byClient[rec.clientId] = rec;
    if (sender === "patient") setRecordStatus(rec, m.status || "sent");
    state.records.push(rec);
    ui.list.appendChild(node);
    return rec;
  }

  // Chips stay clickable while they belong to the latest turn: they are disabled once used, or
  // when a newer message from anyone else arrives (a follow-up from the same sender keeps them).
  function refreshChips() {
    var suffix = null; // sender shared by every later message, "" when mixed, null when none
    for (var i = state.records.length - 1; i >= 0; i--) {
      var r = state.records[i];
      if (r.chips) {
        var active = !r.chipsUsed && (suffix === null || suffix === r.sender);
        for (var j = 0; j < r.chips.length; j++) r.chips[j].disabled = !active;
        r.chipsEl.classList.toggle("atende-chips--inactive", !active);
      }
      suffix = suffix === null ? r.sender : suffix === r.sender ? suffix : "";
    }
  }

  function chipClicked(rec, chip, button) {
    if (chip.disabled) return;
    rec.chipsUsed = true;
    chip.classList.add("atende-chip--chosen");
    chip.setAttribute("aria-pressed", "true");
    var payload = typeof button.payload === "string" && button.payload ? button.payload : null;
    send(button.title.trim(), payload);
    refreshChips();
    ui.input.focus();
  }

  function addServerMessage(m, live) {
    if (!m || typeof m.id !== "number") return;
    if (state.byId[m.id]) return; // already shown (e.g. a reply that raced the history)
    var clientId = typeof m.client_id === "string" ? m.client_id : null;
    if (clientId && state.byClient[clientId]) {
      // The echo of a message this tab shows already (our optimistic bubble): it is stored.
      var mine = state.byClient[clientId];
      if (mine.id === null) {
        mine.id = m.id;
        state.byId[m.id] = mine;
      }
      markSent(mine);
      return;
    }
    var sender = SENDERS[m.sender] ? m.sender : m.direction === "in" ? "patient" : "bot";
    var stick = !live || sender === "patient" || nearBottom();
    render({ id: m.id, client_id: clientId, sender: sender, text: typeof m.text === "string" ? m.text : "",
      buttons: m.buttons, created_at: m.created_at, status: "sent" });
    if (live) {
      refreshChips();
      if (sender !== "patient") {
        hideTyping();
        if (!state.open) bumpUnread();
      }
      if (stick) scrollToBottom(true);
    }
  }

  function addPending(item) {
    return render({ id: null, client_id: item.client_id, sender: "patient", text: item.text, buttons: [],
      created_at: item.created_at, status: "pending" });
  }

  // ---------------------------------------------------------------- composer
  function submit() {
    if (send(ui.input.value, null)) {
      ui.input.value = "";
      autosize();
      updateCounter();
    }
    ui.input.focus();
  }

  // ---------------------------------------------------------------- start
  function start() {
    buildUi();
    injectCss(function () { ui.root.style.visibility = ""; });
    window.addEventListener("online", reconnectNow);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) reconnectNow();
    });
    window.AtendeWidget = {
      open: function () { openPanel(true); },
      close: closePanel
    };
    if (A.openRequested) openPanel(true);
    else if (readKey("open", true) === "1") openPanel(false);
    // Returning visitors connect right away, so replies that came meanwhile show as unread.
    else if (readKey("started") === "1" || outboxRead().length) ensureConnected();
  }

  // ---------------------------------------------------------------- shared with the other files
  A.start = start; // called by widget.js once both parts have run
  A.showError = showError;
  A.hideError = hideError;
  A.showTyping = showTyping;
  A.hideTyping = hideTyping;
  A.setConnState = setConnState;
  A.scrollToBottom = scrollToBottom;
  A.setRecordStatus = setRecordStatus;
  A.addServerMessage = addServerMessage;
  A.addPending = addPending;
  A.refreshChips = refreshChips;
  A.partReady("ui");
})(window.__atendeWidget);
