/* Patient simulator (CHANNEL_SANDBOX). Talks only to /sandbox/api/* on this hub; no external resources.
 * What the person types goes through the production webhooks (the hub signs and posts it); the
 * clinic's replies are read back from the stand-in provider APIs and drawn as each channel shows them:
 * WhatsApp Cloud API reply buttons and lists, Messenger/Instagram quick replies, numbered options on
 * Twilio WhatsApp, SMS and e-mail (the mail's plain text, with its subject), and the phone menu for calls.
 * An ES module (type="module"); it shares no helper with the staff pages (its API answers are
 * read as {status, data}, never thrown), so it imports nothing from /static/lib/. */
var STORE = "atende-sandbox-v1";
var POLL_MS = 1000;
var NAMES = ["Marina Lopes", "Carlos Andrade", "Beatriz Nunes", "Rafael Teixeira", "Luana Prado", "Otávio Reis",
             "Camila Duarte", "Diego Moura", "Patrícia Gomes", "Henrique Sales"];

var $ = function (id) { return document.getElementById(id); };
var els = {
  channels: $("channels"), preset: $("preset"), name: $("name"), user: $("user"), userLabel: $("user-label"),
  newPerson: $("new-person"), hint: $("identity-hint"), phone: $("phone"), chat: $("chat"), empty: $("empty"),
  error: $("error"), composer: $("composer"), text: $("text"), channelLabel: $("channel-label"),
  dial: $("dial"), silence: $("silence"), keypad: $("keypad")
};
var channels = [];
var saved = load();
var current = saved.channel || "whatsapp";
var lastRendered = "";
var callSid = null;
var pollTimer = null;

function load() {
  try { return JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch (e) { return {}; }
}
function save() {
  try { localStorage.setItem(STORE, JSON.stringify(saved)); } catch (e) { /* private mode */ }
}
function randomDigits(n) {
  var a = new Uint8Array(n), s = "";
  (window.crypto || window.msCrypto).getRandomValues(a);
  for (var i = 0; i < n; i++) { s += String(a[i] % 10); }
  return s;
}
function randomHex(n) {
  var a = new Uint8Array(n / 2), s = "";
  window.crypto.getRandomValues(a);
  for (var i = 0; i < a.length; i++) { s += ("0" + a[i].toString(16)).slice(-2); }
  return s;
}
function randomName() { return NAMES[Math.floor(Math.random() * NAMES.length)]; }
function mailbox(name) {
  var slug = (name || "paciente").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, ".").replace(/^\.+|\.+$/g, "");
  return (slug || "paciente") + "." + randomDigits(4) + "@paciente.example";  /* reserved domain: never delivered */
}
function info(channel) {
  for (var i = 0; i < channels.length; i++) { if (channels[i].channel === channel) { return channels[i]; } }
  return null;
}
function kindOf(channel) { var c = info(channel); return c ? c.identity : "phone"; }
function personKey(channel) { return kindOf(channel) === "phone" ? "phone" : channel; }
function person(channel) {
  var key = personKey(channel);
  if (!saved.people) { saved.people = {}; }
  if (!saved.people[key]) {
    var name = randomName();
    if (kindOf(channel) === "phone") {
      saved.people[key] = {name: name, user: "+55 11 9" + randomDigits(4) + "-" + randomDigits(4)};
    } else if (kindOf(channel) === "email") {
      saved.people[key] = {name: name, user: mailbox(name)};
    } else {
      saved.people[key] = {name: name, user: (channel === "instagram" ? "1784" : "2") + randomDigits(12)};
    }
    save();
  }
  return saved.people[key];
}

function api(method, path, body) {
  var opts = {method: method, headers: {}};
  if (body) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  return fetch(path, opts).then(function (r) {
    return r.json().catch(function () { return {}; }).then(function (data) { return {status: r.status, data: data}; });
  });
}

function showError(text) { els.error.textContent = text || ""; }

/* --- configuration panel ------------------------------------------------------------------ */

function renderChannels() {
  els.channels.textContent = "";
  channels.forEach(function (c) {
    var label = document.createElement("label");
    label.className = "channel" + (c.available ? "" : " off");
    var input = document.createElement("input");
    input.type = "radio"; input.name = "channel"; input.value = c.channel; input.disabled = !c.available;
    input.checked = c.channel === current;
    input.setAttribute("data-testid", "sandbox-channel-" + c.channel);
    input.addEventListener("change", function () { selectChannel(c.channel); });
    var span = document.createElement("span"); span.textContent = c.label;
    var tag = document.createElement("span"); tag.className = "tag";
    tag.textContent = !c.available ? "não configurado" : (c.captured ? "simulado" : "provedor real");
    label.appendChild(input); label.appendChild(span); label.appendChild(tag);
    els.channels.appendChild(label);
  });
}

function fillIdentity() {
  var p = person(current);
  var phone = kindOf(current) === "phone";
  var email = kindOf(current) === "email";
  els.name.value = p.name || "";
  els.user.value = p.user || "";
  els.userLabel.textContent = phone ? "Telefone (com DDD)"
    : (email ? "Endereço de e-mail" : "Id na página (" + info(current).label + ")");
  els.preset.disabled = !phone;
  if (current === "whatsapp_meta") {
    els.hint.textContent = "A API da Meta identifica números brasileiros pelo wa_id, muitas vezes sem o nono dígito; " +
      "o simulador faz o mesmo.";
  } else if (email) {
    els.hint.textContent = "Cada mensagem vira um e-mail de verdade (responde à última mensagem da clínica, com o " +
      "texto dela citado abaixo). As opções chegam numeradas: responda com o número.";
  } else {
    els.hint.textContent = phone ? ""
      : "Instagram e Messenger não informam telefone: é um paciente novo até a equipe unificar os cadastros.";
  }
}

function selectChannel(channel) {
  current = channel;
  saved.channel = channel;
  save();
  els.phone.setAttribute("data-channel", channel);
  var c = info(channel);
  els.channelLabel.textContent = c ? c.label : channel;
  fillIdentity();
  resetChat();
  setKeypad(false, false);
  callSid = null;
}

function resetChat() {
  lastRendered = "";
  els.chat.textContent = "";
  els.chat.appendChild(els.empty);
  showError("");
  poll();
}

function updatePerson() {
  var p = person(current);
  p.name = els.name.value.trim();
  p.user = els.user.value.trim();
  save();
  resetChat();
}

/* --- the chat ------------------------------------------------------------------------------ */

function ticks(entry) {
  var span = document.createElement("span");
  if (entry.status === "refused") { span.textContent = "✗ recusada"; return span; }
  if (entry.status === "read") { span.className = "read"; span.textContent = "✓✓"; return span; }
  span.textContent = entry.status === "delivered" ? "✓✓" : "✓";
  return span;
}

function time(entry) {
  var d = new Date(entry.at * 1000);
  return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
}

function button(text, onClick, testid) {
  var b = document.createElement("button");
  b.type = "button"; b.textContent = text;
  if (testid) { b.setAttribute("data-testid", testid); }
  b.addEventListener("click", onClick);
  return b;
}

function bubble(entry, isLast) {
  var div = document.createElement("div");
  div.className = "bubble " + entry.direction + (entry.call ? " call" : "");
  div.setAttribute("data-testid", "sandbox-bubble-" + entry.direction);
  if (entry.template) {
    var t = document.createElement("span"); t.className = "template"; t.textContent = "modelo aprovado";
    div.appendChild(t); div.appendChild(document.createElement("br"));
  }
  if (entry.image) {
    var a = document.createElement("a"); a.className = "image"; a.href = entry.image; a.target = "_blank";
    a.rel = "noopener noreferrer"; a.textContent = "🖼 imagem";
    div.appendChild(a);
  }
  if (entry.subject) {
    var subject = document.createElement("span"); subject.className = "subject";
    subject.setAttribute("data-testid", "sandbox-subject");
    subject.textContent = entry.subject;
    div.appendChild(subject);
  }
  var text = document.createElement("span");
  text.setAttribute("data-testid", "sandbox-text-" + entry.direction);
  text.textContent = entry.text;
  div.appendChild(text);
  if (entry.buttons && entry.buttons.length) {
    var box = document.createElement("div"); box.className = "wa-buttons";
    entry.buttons.forEach(function (b) {
      box.appendChild(button(b.title, function () { send(b.title, "button", b.id); }, "sandbox-wa-button"));
    });
    div.appendChild(box);
  }
  if (entry.rows && entry.rows.length) {
    var list = document.createElement("div"); list.className = "wa-list"; list.hidden = true;
    entry.rows.forEach(function (r) {
      var b = button(r.title, function () { send(r.title, "list", r.id); }, "sandbox-wa-row");
      if (r.description) { var s = document.createElement("small"); s.textContent = r.description; b.appendChild(s); }
      list.appendChild(b);
    });
    var open = button("☰ " + (entry.list_button || "Ver opções"), function () { list.hidden = !list.hidden; },
                      "sandbox-wa-list");
    open.className = "wa-list-open";
    div.appendChild(open); div.appendChild(list);
  }
  var meta = document.createElement("span"); meta.className = "meta";
  meta.appendChild(document.createTextNode(time(entry) + " "));
  if (entry.direction === "in" || !entry.call) { meta.appendChild(ticks(entry)); }
  div.appendChild(meta);
  var nodes = [div];
  if (isLast && entry.quick_replies && entry.quick_replies.length) {
    var chips = document.createElement("div"); chips.className = "chips";
    entry.quick_replies.forEach(function (q) {
      chips.appendChild(button(q.title, function () { send(q.title, "quick_reply", q.payload); }, "sandbox-quick-reply"));
    });
    nodes.push(chips);
  }
  return nodes;
}

function render(entries) {
  var key = JSON.stringify(entries);
  if (key === lastRendered) { return; }
  lastRendered = key;
  var nearBottom = els.chat.scrollHeight - els.chat.scrollTop - els.chat.clientHeight < 80;
  els.chat.textContent = "";
  if (!entries.length) { els.chat.appendChild(els.empty); return; }
  entries.forEach(function (e, i) {
    bubble(e, i === entries.length - 1).forEach(function (n) { els.chat.appendChild(n); });
  });
  if (nearBottom || entries.length < 4) { els.chat.scrollTop = els.chat.scrollHeight; }
}

function poll() {
  clearTimeout(pollTimer);
  var p = person(current);
  var q = "?channel=" + encodeURIComponent(current) + "&user=" + encodeURIComponent(p.user || "");
  api("GET", "/sandbox/api/timeline" + q).then(function (r) {
    if (r.status === 200) { render(r.data.entries || []); }
  }).catch(function () { /* hub restarting: try again */ }).then(function () {
    pollTimer = setTimeout(poll, POLL_MS);
  });
}

function send(text, kind, payload) {
  text = (text || "").trim();
  if (!text) { return; }
  var p = person(current);
  showError("");
  api("POST", "/sandbox/api/send", {channel: current, user: p.user, name: p.name || null, text: text,
                                    kind: kind || "text", payload: payload || null}).then(function (r) {
    if (r.status !== 200) {
      showError((r.data.error && r.data.error.message) || ("Erro " + r.status));
    } else if (!r.data.ok) {
      showError(r.data.webhook_status ? "O webhook recusou a mensagem (HTTP " + r.data.webhook_status + ")."
                                      : "O hub não guardou a mensagem.");
    }
    poll();
  }).catch(function () { showError("Sem conexão com o hub."); });
}

/* --- the phone ----------------------------------------------------------------------------- */

function setKeypad(waiting, inCall) {
  var keys = els.keypad.querySelectorAll("[data-key]");
  for (var i = 0; i < keys.length; i++) { keys[i].disabled = !waiting; }
  els.silence.disabled = !waiting;
  els.dial.disabled = inCall;
  els.dial.textContent = inCall ? "Em ligação…" : "☎ Ligar";
}

function call(step, digits) {
  var p = person(current);
  if (step === "start") { callSid = "CA" + randomHex(32); }
  setKeypad(false, true);
  showError("");
  api("POST", "/sandbox/api/call", {user: p.user, call_sid: callSid, step: step, digits: digits || null})
    .then(function (r) {
      if (r.status !== 200) {
        showError((r.data.error && r.data.error.message) || ("Erro " + r.status));
        setKeypad(false, false);
      } else if (r.data.webhook_status !== 200) {
        showError("O webhook de voz respondeu HTTP " + r.data.webhook_status + ".");
        setKeypad(false, false);
      } else {
        setKeypad(r.data.gather && !r.data.ended, !r.data.ended);
      }
      poll();
    }).catch(function () { showError("Sem conexão com o hub."); setKeypad(false, false); });
}

/* --- wiring -------------------------------------------------------------------------------- */

els.composer.addEventListener("submit", function (ev) {
  ev.preventDefault();
  var text = els.text.value;
  els.text.value = "";
  send(text, "text", null);
});
els.name.addEventListener("change", updatePerson);
els.user.addEventListener("change", updatePerson);
els.newPerson.addEventListener("click", function () {
  if (saved.people) { delete saved.people[personKey(current)]; }
  save();
  els.preset.value = "";
  fillIdentity();
  resetChat();
});
els.preset.addEventListener("change", function () {
  var opt = els.preset.options[els.preset.selectedIndex];
  if (!opt.value) { return; }
  var p = person(current);
  p.name = opt.getAttribute("data-name");
  p.user = opt.value;
  save();
  fillIdentity();
  resetChat();
});
els.dial.addEventListener("click", function () { call("start"); });
els.silence.addEventListener("click", function () { call("retry"); });
Array.prototype.forEach.call(els.keypad.querySelectorAll("[data-key]"), function (b) {
  b.addEventListener("click", function () { call("menu", b.getAttribute("data-key")); });
});

api("GET", "/sandbox/api/channels").then(function (r) {
  channels = r.data.channels || [];
  (r.data.demo_patients || []).forEach(function (p) {
    var o = document.createElement("option");
    o.value = p.phone; o.setAttribute("data-name", p.name);
    o.textContent = p.name + " (paciente de demonstração)";
    els.preset.appendChild(o);
  });
  if (!info(current) || !info(current).available) {
    var first = channels.filter(function (c) { return c.available; })[0];
    current = first ? first.channel : "whatsapp";
  }
  renderChannels();
  selectChannel(current);
}).catch(function () { showError("Não foi possível carregar os canais."); });
