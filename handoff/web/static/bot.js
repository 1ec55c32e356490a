/*
 * atende: "Ensinar o bot" (/bot) — staff teach the bot.
 *
 * 1. What the bot did not understand: GET /api/bot/review; label a group with an intent or ignore
 *    it: POST /api/bot/review/<id> {"intent"|"ignore": true, "message_ids"} (every staff role).
 * 2. Staff intents: GET/POST /api/bot/intents, PATCH/DELETE /api/bot/intents/<name>; simple
 *    answers: GET /api/bot/answers, PUT/DELETE /api/bot/answers/<utter> (writes: managers/admins).
 * 3. Training: POST /api/bot/models (202 {id}), then GET /api/bot/models/<id> every second while
 *    the run is queued/training/evaluating; its `evaluation` (bot/teaching/evaluate.py `compare`)
 *    is shown candidate vs current, then the gate (managers/admins).
 * 4. The registry: GET /api/bot/models, DELETE /api/bot/models/<id> (cancel a queued run),
 *    POST /api/bot/models/<id>/deploy {"override_reason"?}, POST /api/bot/rollback (managers/admins).
 * Contract: docs/CONTRACTS.md ("Bot teaching"). Session cookie + `X-Requested-With: atende` on
 * unsafe requests. The API enforces the roles; the page only hides what a role cannot do.
 * No endpoint lists the bot's own intents: the label choices are the staff intents, the intents
 * the bot read in the review groups and a free text field (the API validates: 400 unknown_intent).
 * Queues for a hand-off come from GET /api/agents (effective queues of the team), like /equipe.
 * Vanilla JS, no dependencies; every server string is assigned with textContent only.
 */
(function () {
  "use strict";

  const TZ = "America/Sao_Paulo";
  const POLL_MS = 1000;
  const MIN_EXAMPLES = 5;
  const WARN_EXAMPLES = 10;
  const MAX_EXAMPLES = 200;
  const SUPERVISORS = { manager: 1, admin: 1 };
  const ACTIVE = { queued: 1, training: 1, evaluating: 1 };
  const OTHER_INTENT = "__other__";

  // ---------------------------------------------------------------- pt-BR vocabulary
  const REASONS = {
    booking: "Agendamento", confirmation: "Confirmação", exams: "Exames", billing: "Financeiro",
    urgent: "Urgente", human: "Atendente", other: "Outros"
  };
  const FLAGS = {
    fallback: "não entendeu", low_confidence: "pouca confiança", reason_corrected: "motivo corrigido",
    asked_for_human: "pediu atendente"
  };
  const MODEL_STATUS = {
    queued: "na fila", training: "treinando", evaluating: "avaliando", ready: "pronto", failed: "falhou",
    deployed: "no ar", retired: "aposentado"
  };
  const QUEUES = { reception: "Recepção", clinical: "Enfermagem", billing: "Financeiro", exams: "Exames",
    on_call: "Plantão" };
  const STAGES = {
    starting: "iniciando", validating: "validando o que a equipe ensinou", merging: "preparando os dados",
    training: "treinando o modelo", evaluating: "avaliando", done: "concluído"
  };

  const $ = function (sel, root) { return (root || document).querySelector(sel); };
  const $all = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  const byTestId = function (id, root) { return $('[data-testid="' + id + '"]', root); };

  const S = {
    me: null, version: null, intents: [], review: [], answers: [], agents: [], models: [], deployed: null,
    editing: null, deleting: null, run: null, pollTimer: null, pendingDeploy: null, answerEditing: null,
    reviewLoaded: false, intentsLoaded: false
  };
  const ui = {
    status: byTestId("teach-status"),
    error: byTestId("teach-error"),
    meName: byTestId("me-name"),
    reviewList: byTestId("review-list"),
    reviewEmpty: byTestId("review-empty"),
    intentRows: byTestId("intents-rows"),
    intentTable: byTestId("intents-table"),
    intentsEmpty: byTestId("intents-empty"),
    layerVersion: byTestId("layer-version"),
    form: byTestId("intent-form"),
    formTitle: byTestId("intent-form-title"),
    formError: byTestId("intent-error"),
    formWarnings: byTestId("intent-warnings"),
    formSubmit: byTestId("intent-submit"),
    formCancel: byTestId("intent-cancel"),
    counter: byTestId("example-count"),
    answersList: byTestId("answers-list"),
    answersFilter: byTestId("answers-filter"),
    trainButton: byTestId("train-button"),
    trainError: byTestId("train-error"),
    runPanel: byTestId("run-panel"),
    modelsRows: byTestId("models-rows"),
    modelsTable: byTestId("models-table"),
    modelsEmpty: byTestId("models-empty"),
    modelsError: byTestId("models-error"),
    deployedVersion: byTestId("deployed-version"),
    overrideForm: byTestId("override-form"),
    rollback: byTestId("rollback-button"),
    deleteDialog: byTestId("delete-dialog")
  };

  // ---------------------------------------------------------------- helpers
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = v; else node.setAttribute(k, v === true ? "" : String(v));
    });
    (children || []).forEach(function (c) { if (c !== null && c !== undefined && c !== false) node.append(c); });
    return node;
  }
  function label(map, key) { return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : key; }
  function isSupervisor() { return !!(S.me && SUPERVISORS[S.me.role]); }
  function isAdmin() { return !!(S.me && S.me.role === "admin"); }

  const dateFmt = new Intl.DateTimeFormat("pt-BR", { dateStyle: "short", timeStyle: "short", timeZone: TZ });
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d.getTime()) ? "" : dateFmt.format(d);
  }
  const pctFmt = new Intl.NumberFormat("pt-BR", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  function pct(v) { return typeof v === "number" ? pctFmt.format(v * 100) + "%" : "—"; }
  function delta(cur, cand) {
    if (typeof cur !== "number" || typeof cand !== "number") return { text: "—", sign: "none" };
    const d = Math.round((cand - cur) * 1000) / 10;
    if (d === 0) return { text: "0,0", sign: "zero" };
    return { text: (d > 0 ? "+" : "−") + pctFmt.format(Math.abs(d)), sign: d > 0 ? "up" : "down" };
  }
  function confidence(v) { return typeof v === "number" ? Math.round(v * 100) + "%" : "sem confiança"; }
  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }
  function sentence(text) {
    const t = String(text || "").trim();
    if (!t) return t;
    const s = t.charAt(0).toUpperCase() + t.slice(1);
    return /[.!?…]$/.test(s) ? s : s + ".";
  }
  // The API's normalize_text, near enough to count distinct examples while typing.
  function normalize(text) {
    return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^\p{L}\p{N}\s]/gu, " ").replace(/\s+/g, " ").trim();
  }
  function examplesOf(text) {
    return String(text || "").split(/\r?\n/).map(function (l) { return l.replace(/\s+/g, " ").trim(); })
      .filter(Boolean);
  }

  function announce(text) {
    ui.status.textContent = "";
    window.setTimeout(function () { ui.status.textContent = text; }, 30);
  }
  function showError(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }
  // An API refusal next to the action: its pt-BR message plus the details it carries (red-flag
  // examples, gate reasons, every validation problem).
  function showApiError(node, err, extra) {
    if (!err) { showError(node, ""); return; }
    const parts = [el("p", { text: err.message })];
    const d = err.data || {};
    if (Array.isArray(d.problems) && d.problems.length > 1) {
      parts.push(el("ul", { "data-testid": "error-problems" }, d.problems.map(function (p) {
        return el("li", { text: sentence(p.message) });
      })));
    }
    if (Array.isArray(d.examples) && d.examples.length) {
      parts.push(el("p", { text: "Lidos como sinal de alerta pelo bot:" }));
      parts.push(el("ul", { "data-testid": "error-examples" }, d.examples.map(function (x) {
        return el("li", { text: x });
      })));
    }
    if (Array.isArray(d.reasons) && d.reasons.length) {
      parts.push(el("ul", { "data-testid": "error-reasons" }, d.reasons.map(function (r) {
        return el("li", { text: sentence(r) });
      })));
    }
    if (extra) parts.push(el("p", { text: extra }));
    node.replaceChildren.apply(node, parts);
    node.hidden = false;
  }

  function loginUrl() { return "/login?next=" + encodeURIComponent("/bot"); }

  // ---------------------------------------------------------------- API
  class ApiError extends Error {
    constructor(status, code, message, data) {
      super(message);
      this.status = status;
      this.code = code;
      this.data = data || {};
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-Requested-With"] = "atende";
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method: method, credentials: "same-origin", headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body)
      });
    } catch (e) {
      throw new ApiError(0, "network", "Não foi possível falar com o servidor. Verifique a conexão e tente de novo.");
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (response.status === 401) {
      window.location.replace(loginUrl());
      throw new ApiError(401, "unauthorized", "Sua sessão terminou. Entre de novo.");
    }
    if (!response.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(response.status, err.code || "error", describe(response.status, err.code, err.message), err);
    }
    return data;
  }

  // The teaching API answers in pt-BR already; a few codes get a friendlier sentence.
  function describe(status, code, message) {
    switch (code) {
      case "forbidden": return "Acesso restrito a gestores e administradores.";
      case "csrf": return "Pedido recusado pelo servidor. Recarregue a página.";
      case "override_forbidden": return sentence(message || "Só um administrador pode liberar, com justificativa");
      default:
        if (message) return sentence(message);
        return "Não foi possível concluir a operação (erro " + status + "). Tente de novo.";
    }
  }

  function setBusy(root, busy) {
    $all("button, input, select, textarea", root).forEach(function (n) { n.disabled = busy; });
    root.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function agentName(id) {
    if (id === null || id === undefined) return "";
    if (S.staffNames && S.staffNames[String(id)]) return S.staffNames[String(id)];
    const a = S.agents.find(function (x) { return x.id === id; });
    if (a) return a.name;
    if (S.me && S.me.id === id) return S.me.name;
    return "conta nº " + id;
  }

  // Effective queues of the team (an account without configured queues works in all of them).
  function knownQueues() {
    const names = [];
    Object.keys(QUEUES).forEach(function (q) {
      if (S.agents.some(function (a) { return (a.queues || []).indexOf(q) >= 0; })) names.push(q);
    });
    S.agents.forEach(function (a) {
      (a.queues || []).forEach(function (q) { if (names.indexOf(q) < 0) names.push(q); });
    });
    return names.length ? names : Object.keys(QUEUES);
  }

  // ================================================================ reason choice (7 + new tags)
  const NEW_REASON = "__new__";

  // `f` is the intent form's elements (HTMLFormControlsCollection), as everywhere in this file.
  function chosenReason(f) {
    const v = f.namedItem("reason").value;
    return v === NEW_REASON ? f.namedItem("new_reason").value.trim() : v;
  }

  function showNewReason(f) {
    const wrap = ui.form.querySelector("[data-new-reason]");
    wrap.hidden = f.namedItem("reason").value !== NEW_REASON;
    f.namedItem("new_reason").required = !wrap.hidden;
  }

  // An intent whose reason is a tag the clinic created shows it in the "new reason" field.
  function setReason(f, reason) {
    const known = Array.prototype.some.call(f.namedItem("reason").options, function (o) {
      return o.value === reason && o.value !== NEW_REASON;
    });
    f.namedItem("reason").value = known ? reason : NEW_REASON;
    f.namedItem("new_reason").value = known ? "" : reason;
    showNewReason(f);
  }

  document.addEventListener("change", function (e) {
    if (e.target && e.target.id === "intent-reason") showNewReason(ui.form.elements);
  });

  // ================================================================ 1. review inbox
  function intentOptions(select, current) {
    const staff = S.intents.map(function (i) { return i.name; });
    // the bot's own intents (GET /api/bot/intents "bot_intents"), plus any read in the review
    const seen = Object.keys(S.botIntents || {}).filter(function (n) { return staff.indexOf(n) < 0; });
    S.review.forEach(function (g) {
      if (g.intent && staff.indexOf(g.intent) < 0 && seen.indexOf(g.intent) < 0) seen.push(g.intent);
    });
    seen.sort();
    const children = [el("option", { value: "", text: "Escolha a intenção…" })];
    if (staff.length) {
      children.push(el("optgroup", { label: "Ensinadas pela equipe" }, S.intents.map(function (i) {
        return el("option", { value: i.name, text: i.name + " (" + label(REASONS, i.reason) + ")" });
      })));
    }
    if (seen.length) {
      children.push(el("optgroup", { label: "Do bot" }, seen.map(function (n) {
        const reason = (S.botIntents || {})[n];
        return el("option", { value: n, text: reason ? n + " (" + label(REASONS, reason) + ")" : n });
      })));
    }
    children.push(el("option", { value: OTHER_INTENT, text: "Outra intenção do bot (digitar o nome)" }));
    select.replaceChildren.apply(select, children);
    select.value = current && Array.prototype.some.call(select.options, function (o) { return o.value === current; })
      ? current : "";
  }

  function reviewItem(g) {
    const id = g.id;
    const more = (g.conversation_ids || []).length - 1;
    const meta = [
      el("span", { class: "count", "data-testid": "review-count", text: plural(g.count, "mensagem", "mensagens") }),
      el("span", { "data-testid": "review-intent" }, [
        document.createTextNode("Bot leu: "),
        el("code", { text: g.intent || "—" }),
        document.createTextNode(" · "),
        el("span", { "data-testid": "review-confidence", text: confidence(g.confidence) })
      ]),
      g.reason ? el("span", { text: "Motivo: " + label(REASONS, g.reason) +
        (g.corrected_reason ? " → corrigido para " + label(REASONS, g.corrected_reason) : "") }) : null,
      el("span", { class: "when", text: when(g.last_at) })
    ];
    const flags = el("ul", { class: "flags", "aria-label": "Sinais" }, (g.flags || []).map(function (f) {
      return el("li", { class: "flag", "data-flag": f, "data-testid": "review-flag", text: label(FLAGS, f) });
    }));
    const link = el("a", { href: "/inbox?c=" + encodeURIComponent(g.conversation_id), "data-testid": "review-link",
      text: "Abrir conversa" + (more > 0 ? " (+" + plural(more, "outra", "outras") + ")" : "") });

    const selectId = "review-intent-" + id;
    const otherId = "review-other-" + id;
    const overrideId = "review-override-" + id;
    const select = el("select", { id: selectId, name: "intent", "data-testid": "review-intent-select" });
    intentOptions(select, "");
    const otherWrap = el("div", { class: "field", "data-other": true, hidden: true }, [
      el("label", { for: otherId, text: "Nome da intenção do bot" }),
      el("input", { id: otherId, name: "other", type: "text", maxlength: "64", autocomplete: "off",
        spellcheck: "false", "data-testid": "review-intent-other" })
    ]);
    const overrideWrap = el("div", { class: "field field--wide", "data-override": true, hidden: true }, [
      el("label", { for: overrideId, text: "Justificativa do administrador para liberar o sinal de alerta" }),
      el("textarea", { id: overrideId, name: "override_reason", rows: "2", maxlength: "500",
        "data-testid": "review-override" })
    ]);
    const form = el("form", { class: "review-actions", novalidate: true, "aria-label": "Classificar esta mensagem" }, [
      el("div", { class: "field" }, [el("label", { for: selectId, text: "Atribuir a intenção" }), select]),
      otherWrap,
      overrideWrap,
      el("div", { class: "row-actions" }, [
        el("button", { type: "submit", class: "btn btn--small btn--primary", "data-testid": "review-assign",
          text: "Atribuir" }),
        el("button", { type: "button", class: "btn btn--small", "data-action": "ignore", "data-testid": "review-ignore",
          text: "Ignorar" }),
        isSupervisor() ? el("button", { type: "button", class: "btn btn--small btn--ghost", "data-action": "new-intent",
          "data-testid": "review-new-intent", text: "Nova intenção com esta mensagem" }) : null
      ]),
      el("div", { class: "form-error field--wide", role: "alert", "data-testid": "review-error", hidden: true })
    ]);
    select.addEventListener("change", function () {
      otherWrap.hidden = select.value !== OTHER_INTENT;
      if (!otherWrap.hidden) $("input", otherWrap).focus();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      assign(g, form);
    });
    $('[data-action="ignore"]', form).addEventListener("click", function () { ignore(g, form); });
    const newIntent = $('[data-action="new-intent"]', form);
    if (newIntent) newIntent.addEventListener("click", function () { startIntentFrom(g); });

    return el("li", { class: "review-item", "data-testid": "review-item", "data-id": id }, [
      el("blockquote", { class: "review-text", "data-testid": "review-text", text: g.text }),
      el("div", { class: "review-meta" }, meta),
      flags,
      el("p", { class: "review-link" }, [link]),
      form
    ]);
  }

  function renderReview() {
    if (!S.reviewLoaded) return;
    ui.reviewList.replaceChildren.apply(ui.reviewList, S.review.map(reviewItem));
    ui.reviewList.setAttribute("aria-busy", "false");
    ui.reviewList.hidden = !S.review.length;
    ui.reviewEmpty.hidden = !!S.review.length;
  }

  async function loadReview() {
    ui.reviewList.setAttribute("aria-busy", "true");
    const data = await api("GET", "/api/bot/review");
    S.review = (data && Array.isArray(data.items)) ? data.items : [];
    S.reviewLoaded = true;
    renderReview();
  }

  function dropReviewGroup(g) {
    S.review = S.review.filter(function (x) { return x.id !== g.id; });
    renderReview();
  }

  async function sendLabel(g, form, body, done) {
    const errorNode = byTestId("review-error", form);
    showError(errorNode, "");
    setBusy(form, true);
    try {
      await api("POST", "/api/bot/review/" + g.id, Object.assign({ message_ids: g.message_ids || [g.id] }, body));
      dropReviewGroup(g);
      announce(done);
    } catch (e) {
      setBusy(form, false);
      const overrideWrap = $("[data-override]", form);
      let extra = "";
      if (e.code === "red_flag_example") {
        if (isAdmin()) {
          overrideWrap.hidden = false;
          extra = "Como administrador, você pode liberar com uma justificativa e atribuir de novo.";
        } else {
          extra = "Atribua a uma intenção urgente ou peça a um administrador.";
        }
      }
      showApiError(errorNode, e, extra);
    }
  }

  function assign(g, form) {
    const select = $("select", form);
    let intent = select.value;
    if (intent === OTHER_INTENT) intent = $('[data-testid="review-intent-other"]', form).value.trim();
    if (!intent) {
      showError(byTestId("review-error", form), "Escolha a intenção (ou digite o nome de uma intenção do bot).");
      select.focus();
      return;
    }
    const body = { intent: intent };
    const override = $("textarea", form).value.trim();
    if (override) body.override_reason = override;
    sendLabel(g, form, body, plural(g.count, "mensagem atribuída", "mensagens atribuídas") + " a " + intent + ".");
  }

  function ignore(g, form) {
    sendLabel(g, form, { ignore: true }, plural(g.count, "mensagem ignorada", "mensagens ignoradas") + ".");
  }

  // ================================================================ 2. staff intents
  function intentAction(i) {
    const parts = [];
    if (i.answer && i.answer.text) {
      const t = i.answer.text;
      parts.push(el("span", { class: "answer-preview", text: "Responde: " + (t.length > 140 ? t.slice(0, 139) + "…" : t) }));
      const buttons = i.answer.buttons || [];
      if (buttons.length) {
        parts.push(el("small", { text: "Botões: " + buttons.map(function (b) { return b.title; }).join(", ") }));
      }
    }
    if (i.handoff) {
      const bits = [];
      if (i.handoff.queue) bits.push("fila " + label(QUEUES, i.handoff.queue));
      if (i.handoff.skill) bits.push("habilidade " + i.handoff.skill);
      parts.push(el("small", { text: "Encaminha para a equipe: " + bits.join(", ") }));
    }
    return parts;
  }

  function intentRow(i) {
    const examples = i.examples || [];
    const cells = [
      el("th", { scope: "row", "data-col": "name" }, [
        el("code", { text: i.name }),
        i.red_flag_override ? el("small", { class: "override-note",
          text: "Sinal de alerta liberado por " + (i.red_flag_override.by || "um administrador") }) : null
      ]),
      el("td", { "data-col": "reason", text: label(REASONS, i.reason) }),
      el("td", { "data-col": "examples" }, [
        el("span", { text: plural(examples.length, "exemplo", "exemplos") }),
        el("small", { text: examples.slice(0, 3).join(" · ") + (examples.length > 3 ? " …" : "") })
      ]),
      el("td", { "data-col": "action" }, intentAction(i)),
      el("td", { "data-col": "updated", text: when(i.updated_at) })
    ];
    if (isSupervisor()) {
      cells.push(el("td", { "data-col": "actions" }, [el("div", { class: "row-actions" }, [
        el("button", { type: "button", class: "btn btn--small", "data-action": "edit", "aria-label": "Editar " + i.name,
          text: "Editar" }),
        el("button", { type: "button", class: "btn btn--small btn--danger", "data-action": "delete",
          "aria-label": "Excluir " + i.name, text: "Excluir" })
      ])]));
    }
    return el("tr", { "data-testid": "intent-row", "data-name": i.name }, cells);
  }

  function renderIntents() {
    ui.intentRows.replaceChildren.apply(ui.intentRows, S.intents.map(intentRow));
    ui.intentTable.setAttribute("aria-busy", "false");
    ui.intentTable.closest(".table-wrap").hidden = !S.intents.length;
    ui.intentsEmpty.hidden = !!S.intents.length;
    ui.layerVersion.textContent = S.version === null ? "" : "Versão do que a equipe ensinou: " + S.version;
    // the label choices follow the intents
    $all('[data-testid="review-intent-select"]').forEach(function (s) { intentOptions(s, s.value); });
  }

  async function loadIntents() {
    const data = await api("GET", "/api/bot/intents");
    S.intents = (data && Array.isArray(data.intents)) ? data.intents : [];
    S.botIntents = (data && data.bot_intents) || {};
    S.version = data ? data.version : null;
    S.intentsLoaded = true;
    renderIntents();
  }

  function renderQueueChoices() {
    const select = ui.form.elements.namedItem("queue");
    const current = select.value;
    const choices = [el("option", { value: "", text: "Não encaminhar" })].concat(knownQueues().map(function (q) {
      return el("option", { value: q, text: label(QUEUES, q) + (QUEUES[q] ? " (" + q + ")" : "") });
    }));
    select.replaceChildren.apply(select, choices);
    select.value = current;
  }

  function updateCounter() {
    const lines = examplesOf(ui.form.elements.namedItem("examples").value);
    const distinct = new Set(lines.map(normalize).filter(Boolean)).size;
    const repeated = lines.length - distinct;
    let text = plural(distinct, "exemplo diferente", "exemplos diferentes");
    let level = "ok";
    if (distinct < MIN_EXAMPLES) {
      level = "error";
      text += " — mínimo de " + MIN_EXAMPLES + " para salvar";
    } else if (distinct < WARN_EXAMPLES) {
      level = "warn";
      text += " — recomendado pelo menos " + WARN_EXAMPLES + " para o bot reconhecer bem";
    } else if (lines.length > MAX_EXAMPLES) {
      level = "error";
      text += " — no máximo " + MAX_EXAMPLES;
    }
    if (repeated > 0) text += " (" + plural(repeated, "repetido", "repetidos") + ")";
    ui.counter.textContent = text;
    ui.counter.setAttribute("data-level", level);
    return { lines: lines, distinct: distinct, repeated: repeated };
  }

  function resetForm() {
    S.editing = null;
    ui.form.reset();
    ui.form.elements.namedItem("name").disabled = false;
    ui.formTitle.textContent = "Nova intenção";
    ui.formSubmit.textContent = "Criar intenção";
    ui.formCancel.hidden = true;
    $("[data-override]", ui.form).hidden = true;
    showNewReason(ui.form.elements);
    showError(ui.formError, "");
    updateCounter();
  }

  function showWarnings(title, warnings) {
    const parts = [el("p", { text: title })];
    if (warnings && warnings.length) {
      parts.push(el("ul", {}, warnings.map(function (w) { return el("li", { text: "Atenção: " + sentence(w) }); })));
    }
    ui.formWarnings.replaceChildren.apply(ui.formWarnings, parts);
    ui.formWarnings.hidden = false;
  }

  function startIntentFrom(g) {
    if (S.editing) resetForm();
    const box = ui.form.elements.namedItem("examples");
    const rest = examplesOf(box.value).filter(function (l) { return normalize(l) !== normalize(g.text); });
    box.value = [g.text].concat(rest).join("\n");
    updateCounter();
    ui.formWarnings.hidden = true;
    ui.form.scrollIntoView({ block: "start" });
    ui.form.elements.namedItem("name").focus();
    announce("A mensagem virou o primeiro exemplo da nova intenção: complete o formulário.");
  }

  function openEdit(i) {
    S.editing = i;
    const f = ui.form.elements;
    showError(ui.formError, "");
    ui.formWarnings.hidden = true;
    $("[data-override]", ui.form).hidden = true;
    f.namedItem("name").value = i.name;
    f.namedItem("name").disabled = true;
    setReason(f, i.reason);
    f.namedItem("examples").value = (i.examples || []).join("\n");
    f.namedItem("answer").value = i.answer ? i.answer.text : "";
    f.namedItem("queue").value = (i.handoff && i.handoff.queue) || "";
    f.namedItem("skill").value = (i.handoff && i.handoff.skill) || "";
    f.namedItem("override_reason").value = "";
    ui.formTitle.textContent = "Editar " + i.name;
    ui.formSubmit.textContent = "Salvar alterações";
    ui.formCancel.hidden = false;
    updateCounter();
    ui.form.scrollIntoView({ block: "start" });
    f.namedItem("reason").focus();
  }

  function sameHandoff(a, b) {
    const x = a || {}, y = b || {};
    return (x.queue || null) === (y.queue || null) && (x.skill || null) === (y.skill || null) && !a === !b;
  }
  function sameList(a, b) {
    return a.length === b.length && a.every(function (v, i) { return v === b[i]; });
  }

  ui.form.elements.namedItem("examples").addEventListener("input", updateCounter);
  ui.formCancel.addEventListener("click", function () { resetForm(); announce("Edição cancelada."); });

  ui.form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const f = ui.form.elements;
    showError(ui.formError, "");
    ui.formWarnings.hidden = true;
    const counted = updateCounter();
    const name = f.namedItem("name").value.trim();
    const answer = f.namedItem("answer").value.trim();
    const queue = f.namedItem("queue").value;
    const skill = f.namedItem("skill").value.trim();
    const override = f.namedItem("override_reason").value.trim();
    const handoff = queue || skill ? Object.assign({}, queue ? { queue: queue } : {}, skill ? { skill: skill } : {}) : null;
    let problem = "";
    if (!S.editing && !name) problem = "Informe o nome da intenção.";
    else if (counted.distinct < MIN_EXAMPLES) {
      problem = "São necessários pelo menos " + MIN_EXAMPLES + " exemplos diferentes (há " + counted.distinct + ").";
    } else if (counted.repeated > 0) problem = "Há exemplos repetidos: deixe cada frase uma vez só.";
    else if (counted.lines.length > MAX_EXAMPLES) problem = "No máximo " + MAX_EXAMPLES + " exemplos por intenção.";
    else if (!answer && !handoff) problem = "Escreva a resposta do bot ou escolha para onde encaminhar a conversa.";
    else if (override && override.length < 10) problem = "A justificativa precisa ter pelo menos 10 caracteres.";
    if (problem) {
      showError(ui.formError, problem);
      return;
    }
    let method = "POST", path = "/api/bot/intents", body;
    if (S.editing) {
      const i = S.editing;
      body = {};
      if (chosenReason(f) !== i.reason) body.reason = chosenReason(f);
      if (!sameList(counted.lines, i.examples || [])) body.examples = counted.lines;
      if (answer !== (i.answer ? i.answer.text : "")) body.answer = answer || null;
      if (!sameHandoff(handoff, i.handoff)) body.handoff = handoff;
      if (!Object.keys(body).length) {
        resetForm();
        announce("Nada foi alterado.");
        return;
      }
      method = "PATCH";
      path = "/api/bot/intents/" + encodeURIComponent(i.name);
    } else {
      body = { name: name, reason: chosenReason(f), examples: counted.lines, answer: answer || null };
      if (handoff) body.handoff = handoff;
    }
    if (override) body.override_reason = override;
    setBusy(ui.form, true);
    try {
      const saved = await api(method, path, body);
      const editing = !!S.editing;
      resetForm();
      await loadIntents();
      showWarnings((editing ? "Intenção " + saved.name + " atualizada." : "Intenção " + saved.name + " criada.") +
        " Ela entra no bot no próximo modelo treinado e implantado.", saved.warnings);
      announce(editing ? "Intenção " + saved.name + " atualizada." : "Intenção " + saved.name + " criada.");
    } catch (e) {
      let extra = "";
      if (e.code === "red_flag_example") {
        if (isAdmin()) {
          $("[data-override]", ui.form).hidden = false;
          extra = "Como administrador, você pode liberar esses exemplos escrevendo uma justificativa e salvando de novo.";
        } else {
          extra = "Tire esses exemplos, use o motivo Urgente ou peça a um administrador.";
        }
      }
      showApiError(ui.formError, e, extra);
    } finally {
      setBusy(ui.form, false);
      if (S.editing) ui.form.elements.namedItem("name").disabled = true;
    }
  });

  ui.intentRows.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const name = button.closest("tr").getAttribute("data-name");
    const i = S.intents.find(function (x) { return x.name === name; });
    if (!i) return;
    if (button.getAttribute("data-action") === "edit") openEdit(i);
    else openDelete(i);
  });

  function openDelete(i) {
    S.deleting = i;
    const d = ui.deleteDialog;
    showError(byTestId("delete-error", d), "");
    $("#delete-title", d).textContent = "Excluir a intenção " + i.name + "?";
    byTestId("delete-text", d).textContent = "O bot deixa de reconhecer esta intenção a partir do próximo modelo " +
      "treinado e implantado. Os " + plural((i.examples || []).length, "exemplo", "exemplos") +
      " ficam no histórico de mudanças.";
    d.showModal();
    $("[data-close]", d).focus(); // the safe choice first
  }

  $all("dialog [data-close]").forEach(function (b) {
    b.addEventListener("click", function () { b.closest("dialog").close(); });
  });

  $('[data-form="delete"]').addEventListener("submit", async function (event) {
    event.preventDefault();
    const form = event.currentTarget;
    const i = S.deleting;
    if (!i) return;
    setBusy(form, true);
    try {
      await api("DELETE", "/api/bot/intents/" + encodeURIComponent(i.name));
      ui.deleteDialog.close();
      if (S.editing && S.editing.name === i.name) resetForm();
      ui.formWarnings.hidden = true;
      await loadIntents();
      announce("Intenção " + i.name + " excluída.");
    } catch (e) {
      showApiError(byTestId("delete-error", ui.deleteDialog), e);
    } finally {
      setBusy(form, false);
    }
  });

  // ---------------------------------------------------------------- simple answers
  function answerRow(a) {
    const editing = S.answerEditing === a.name;
    const inputId = "answer-input-" + a.name;
    const body = [];
    if (editing) {
      body.push(el("form", { class: "answer-form", "data-testid": "answer-form", novalidate: true }, [
        el("label", { for: inputId, text: "Texto de " + a.name }),
        el("textarea", { id: inputId, name: "text", rows: "3", maxlength: "2000", "data-testid": "answer-input" }),
        el("small", { text: "Texto original do bot: " + a.default }),
        el("div", { class: "form-error", role: "alert", "data-testid": "answer-error", hidden: true }),
        el("div", { class: "row-actions" }, [
          el("button", { type: "submit", class: "btn btn--small btn--primary", "data-testid": "answer-save",
            text: "Salvar" }),
          el("button", { type: "button", class: "btn btn--small btn--ghost", "data-action": "cancel", text: "Cancelar" })
        ])
      ]));
    } else {
      body.push(el("p", { class: "answer-text", "data-testid": "answer-text", text: a.text }));
      if (a.edited) body.push(el("small", { class: "answer-default", text: "Texto original do bot: " + a.default }));
    }
    const actions = [];
    if (isSupervisor() && !editing) {
      actions.push(el("button", { type: "button", class: "btn btn--small", "data-action": "edit",
        "data-testid": "answer-edit", "aria-label": "Editar " + a.name, text: "Editar" }));
      if (a.edited) {
        actions.push(el("button", { type: "button", class: "btn btn--small btn--ghost", "data-action": "reset",
          "data-testid": "answer-reset", "aria-label": "Restaurar " + a.name, text: "Restaurar" }));
      }
    }
    const li = el("li", { class: "answer-item", "data-testid": "answer-row", "data-name": a.name,
      "data-edited": a.edited ? "true" : "false" }, [
      el("div", { class: "answer-head" }, [
        el("code", { text: a.name }),
        a.edited ? el("span", { class: "pill", "data-testid": "answer-edited", text: "editada pela equipe" }) : null,
        el("div", { class: "row-actions" }, actions)
      ]),
      el("div", { class: "answer-body" }, body),
      editing ? null : el("div", { class: "form-error", role: "alert", "data-testid": "answer-error", hidden: true })
    ]);
    if (editing) {
      const area = $("textarea", li);
      area.value = a.text;
      $("form", li).addEventListener("submit", function (event) { event.preventDefault(); saveAnswer(a, li); });
    }
    return li;
  }

  function renderAnswers() {
    const q = normalize(ui.answersFilter.value);
    const shown = S.answers.filter(function (a) {
      return !q || normalize(a.name + " " + a.text).indexOf(q) >= 0 || a.name === S.answerEditing;
    });
    ui.answersList.replaceChildren.apply(ui.answersList, shown.length ? shown.map(answerRow)
      : [el("li", { class: "empty", text: "Nenhuma resposta encontrada." })]);
    ui.answersList.setAttribute("aria-busy", "false");
  }

  async function loadAnswers() {
    const data = await api("GET", "/api/bot/answers");
    S.answers = (data && Array.isArray(data.answers)) ? data.answers : [];
    renderAnswers();
  }

  function upsertAnswer(view) {
    S.answers = S.answers.map(function (a) {
      return a.name === view.name ? Object.assign({}, a, { text: view.text, edited: view.edited }) : a;
    });
  }

  async function saveAnswer(a, li) {
    const text = $("textarea", li).value.trim();
    const errorNode = byTestId("answer-error", li);
    if (!text) {
      showError(errorNode, "Escreva o texto da resposta (ou use “Restaurar” para voltar ao texto do bot).");
      return;
    }
    if (text === a.text) {
      S.answerEditing = null;
      renderAnswers();
      announce("Nada foi alterado.");
      return;
    }
    setBusy(li, true);
    try {
      const view = await api("PUT", "/api/bot/answers/" + encodeURIComponent(a.name), { text: text });
      upsertAnswer(view);
      S.answerEditing = null;
      renderAnswers();
      announce("Resposta " + a.name + " salva. Vale a partir do próximo modelo implantado.");
    } catch (e) {
      setBusy(li, false);
      showApiError(errorNode, e);
    }
  }

  async function resetAnswer(a, li) {
    setBusy(li, true);
    try {
      const view = await api("DELETE", "/api/bot/answers/" + encodeURIComponent(a.name));
      upsertAnswer(view);
      renderAnswers();
      announce("Resposta " + a.name + " restaurada ao texto original do bot.");
    } catch (e) {
      setBusy(li, false);
      showApiError(byTestId("answer-error", li), e);
    }
  }

  ui.answersList.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const li = button.closest("li");
    const a = S.answers.find(function (x) { return x.name === li.getAttribute("data-name"); });
    if (!a) return;
    const action = button.getAttribute("data-action");
    if (action === "edit") {
      S.answerEditing = a.name;
      renderAnswers();
      const area = $('[data-testid="answer-input"]', ui.answersList);
      if (area) area.focus();
    }
    else if (action === "cancel") { S.answerEditing = null; renderAnswers(); }
    else if (action === "reset") resetAnswer(a, li);
  });
  ui.answersFilter.addEventListener("input", renderAnswers);

  // ================================================================ 3. training and evaluation
  function stageText(stage) {
    const raw = String(stage || "");
    const cut = raw.indexOf(":");
    const head = cut >= 0 ? raw.slice(0, cut) : raw;
    let detail = cut >= 0 ? raw.slice(cut + 1).trim() : "";
    detail = detail.replace(/^cross-validation/, "validação cruzada")
      .replace(/^current vs candidate/, "comparando com o modelo no ar");
    return label(STAGES, head) + (detail ? " — " + detail : "");
  }

  function metricCells(cur, cand, key) {
    const a = cur ? cur[key] : undefined, b = cand ? cand[key] : undefined;
    const d = delta(a, b);
    return [
      el("td", { "data-col": key + "-current", text: pct(a) }),
      el("td", { "data-col": key + "-candidate", text: pct(b) }),
      el("td", { "data-col": key + "-delta", class: "delta", "data-sign": d.sign, text: d.text })
    ];
  }

  function reasonOrder(tables) {
    const keys = Object.keys(REASONS);
    tables.forEach(function (t) {
      Object.keys(t || {}).forEach(function (r) { if (keys.indexOf(r) < 0) keys.push(r); });
    });
    return keys.filter(function (r) { return tables.some(function (t) { return t && t[r]; }); });
  }

  function renderEvalTable(table, frozen) {
    const cur = frozen.current || null, cand = frozen.candidate || null;
    const curRows = (cur && cur.per_reason) || {}, candRows = (cand && cand.per_reason) || {};
    const sub = function () {
      return [el("th", { scope: "col", text: "atual" }), el("th", { scope: "col", text: "candidato" }),
        el("th", { scope: "col", text: "diferença (p.p.)" })];
    };
    $("thead", table).replaceChildren(
      el("tr", {}, [
        el("th", { scope: "col", rowspan: "2", text: "Motivo" }),
        el("th", { scope: "colgroup", colspan: "3", text: "Precisão" }),
        el("th", { scope: "colgroup", colspan: "3", text: "Sensibilidade (recall)" }),
        el("th", { scope: "colgroup", colspan: "3", text: "F1" }),
        el("th", { scope: "col", rowspan: "2", text: "Mensagens" })
      ]),
      el("tr", {}, sub().concat(sub(), sub()))
    );
    const rows = reasonOrder([curRows, candRows]).map(function (r) {
      const c = curRows[r] || null, d = candRows[r] || null;
      const support = (d && d.support) || (c && c.support) || 0;
      return el("tr", { "data-reason": r, "data-testid": "eval-row" }, [el("th", { scope: "row", text: label(REASONS, r) })]
        .concat(metricCells(c, d, "precision"), metricCells(c, d, "recall"), metricCells(c, d, "f1"),
          [el("td", { text: String(support) })]));
    });
    const macro = delta(cur ? cur.macro_f1 : undefined, cand ? cand.macro_f1 : undefined);
    rows.push(el("tr", { class: "total", "data-testid": "eval-macro" }, [
      el("th", { scope: "row", text: "Média (F1 macro)" }),
      el("td", { colspan: "6" }),
      el("td", { text: pct(cur ? cur.macro_f1 : undefined) }),
      el("td", { text: pct(cand ? cand.macro_f1 : undefined) }),
      el("td", { class: "delta", "data-sign": macro.sign, text: macro.text }),
      el("td", { text: String((cand && cand.n) || (cur && cur.n) || 0) })
    ]));
    $("tbody", table).replaceChildren.apply($("tbody", table), rows);
  }

  function sideTable(testid, caption, rows) {
    return el("table", { class: "teach-table compact", "data-testid": testid }, [
      el("caption", { class: "sr-only", text: caption }),
      el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: "" }), el("th", { scope: "col", text: "atual" }),
        el("th", { scope: "col", text: "candidato" })])]),
      el("tbody", {}, rows.map(function (r) {
        return el("tr", { "data-metric": r[0] }, [el("th", { scope: "row", text: r[1] }),
          el("td", { "data-col": "current", text: r[2] }), el("td", { "data-col": "candidate", text: r[3] })]);
      }))
    ]);
  }

  function renderSuite(node, suite) {
    const cur = suite.current || null, cand = suite.candidate || null;
    const n = function (s, k) { return s && typeof s[k] === "number" ? String(s[k]) : "—"; };
    const p = function (s, k) { return s ? pct(s[k]) : "—"; };
    const parts = [
      el("p", { class: "eval-note", text: (cand ? n(cand, "emergencies") : n(cur, "emergencies")) + " emergências e " +
        (cand ? n(cand, "lookalikes") : n(cur, "lookalikes")) + " mensagens parecidas que não são urgência. " +
        "A sensibilidade para urgência precisa ficar em 100%." }),
      sideTable("suite-table", "Conjunto de segurança: modelo atual e candidato", [
        ["urgent_recall", "Sensibilidade para urgência", p(cur, "urgent_recall"), p(cand, "urgent_recall")],
        ["urgent_precision", "Precisão para urgência", p(cur, "urgent_precision"), p(cand, "urgent_precision")],
        ["false_alarms", "Falsos alarmes", n(cur, "false_alarms"), n(cand, "false_alarms")]
      ])
    ];
    const missed = (cand && cand.missed_emergencies) || [];
    if (missed.length) {
      parts.push(el("p", { class: "bad", text: "Emergências que o candidato não reconheceu:" }));
      parts.push(el("ul", { "data-testid": "suite-missed" }, missed.map(function (t) { return el("li", { text: t }); })));
    }
    node.replaceChildren.apply(node, parts);
  }

  function renderStaffEval(node, staff) {
    if (!staff || !staff.n) {
      node.replaceChildren(el("p", { class: "eval-note", text: "Nenhum exemplo da equipe para avaliar." }));
      return;
    }
    const cur = staff.current || null, cv = staff.candidate_cv || null;
    const parts = [
      el("p", { class: "eval-note", text: plural(staff.n, "exemplo", "exemplos") + " da equipe, avaliados em " +
        (staff.k || 0) + " partes (validação cruzada): o candidato é testado em cada parte sem tê-la visto no treino; " +
        "o modelo atual nunca viu esses exemplos." }),
      sideTable("staff-table", "Mensagens da equipe: modelo atual e candidato (validação cruzada)", [
        ["reason_accuracy", "Motivo correto", cur ? pct(cur.reason_accuracy) : "—", cv ? pct(cv.reason_accuracy) : "—"],
        ["intent_accuracy", "Intenção correta", cur ? pct(cur.intent_accuracy) : "—", cv ? pct(cv.intent_accuracy) : "—"]
      ])
    ];
    const curRows = (cur && cur.per_reason) || {}, cvRows = (cv && cv.per_reason) || {};
    const reasons = reasonOrder([curRows, cvRows]);
    if (reasons.length) {
      parts.push(el("table", { class: "teach-table compact", "data-testid": "staff-reasons" }, [
        el("caption", { class: "sr-only", text: "F1 por motivo nas mensagens da equipe" }),
        el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: "Motivo" }),
          el("th", { scope: "col", text: "F1 atual" }), el("th", { scope: "col", text: "F1 candidato" }),
          el("th", { scope: "col", text: "diferença (p.p.)" }), el("th", { scope: "col", text: "Exemplos" })])]),
        el("tbody", {}, reasons.map(function (r) {
          const c = curRows[r] || null, d = cvRows[r] || null;
          const dd = delta(c ? c.f1 : undefined, d ? d.f1 : undefined);
          return el("tr", { "data-reason": r }, [el("th", { scope: "row", text: label(REASONS, r) }),
            el("td", { text: c ? pct(c.f1) : "—" }), el("td", { text: d ? pct(d.f1) : "—" }),
            el("td", { class: "delta", "data-sign": dd.sign, text: dd.text }),
            el("td", { text: String((d && d.support) || (c && c.support) || 0) })]);
        }))
      ]));
    }
    node.replaceChildren.apply(node, parts);
  }

  function renderChanges(node, changes) {
    if (!changes || !changes.length) {
      node.replaceChildren(el("p", { class: "eval-note", "data-testid": "changes-empty",
        text: "Nenhuma mensagem da equipe muda de leitura." }));
      return;
    }
    const read = function (intent, conf) {
      return intent ? intent + " (" + confidence(conf) + ")" : "—";
    };
    node.replaceChildren(el("div", { class: "table-wrap" }, [el("table", { class: "teach-table compact",
      "data-testid": "changes-table" }, [
      el("caption", { class: "sr-only", text: "Mensagens da equipe cuja intenção prevista muda" }),
      el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: "Mensagem" }),
        el("th", { scope: "col", text: "Ensinada como" }), el("th", { scope: "col", text: "Modelo atual" }),
        el("th", { scope: "col", text: "Candidato" }), el("th", { scope: "col", text: "Candidato (validação cruzada)" })])]),
      el("tbody", {}, changes.map(function (c) {
        return el("tr", { "data-testid": "change-row" }, [el("td", { text: c.text }), el("td", { text: c.intent }),
          el("td", { text: read(c.current, c.current_confidence) }),
          el("td", { text: read(c.candidate, c.candidate_confidence) }),
          el("td", { text: read(c.candidate_cv, c.candidate_cv_confidence) })]);
      }))
    ])]));
  }

  function renderGate(panel, m) {
    const gate = m.gate || { passed: false, reasons: [] };
    const status = byTestId("gate-status", panel);
    status.textContent = gate.passed ? "Aprovado" : "Reprovado";
    status.setAttribute("data-passed", gate.passed ? "true" : "false");
    const reasons = (gate.reasons || []).map(function (r) { return el("li", { text: sentence(r) }); });
    if (m.gate_override) {
      reasons.push(el("li", { class: "override-note", text: "Implantado mesmo assim por " +
        (m.gate_override.by || "um administrador") + ": " + m.gate_override.reason }));
    }
    const list = byTestId("gate-reasons", panel);
    list.replaceChildren.apply(list, reasons);
    list.hidden = !reasons.length;
  }

  function renderRun(m) {
    const panel = ui.runPanel;
    panel.hidden = false;
    panel.setAttribute("data-id", m.id);
    panel.setAttribute("data-status", m.status);
    const active = !!ACTIVE[m.status];
    byTestId("run-title", panel).textContent = "Treino nº " + m.id + (m.layer_version !== null &&
      m.layer_version !== undefined ? " · ensinamentos da versão " + m.layer_version : "") +
      (m.created_at ? " · pedido em " + when(m.created_at) + (m.requested_by ? " por " + agentName(m.requested_by) : "") : "");
    const status = byTestId("run-status", panel);
    status.textContent = label(MODEL_STATUS, m.status);
    status.setAttribute("data-status", m.status);
    const progress = m.progress || {};
    const bar = byTestId("run-progress", panel);
    bar.value = typeof progress.pct === "number" ? progress.pct : 0;
    bar.setAttribute("aria-valuetext", (progress.pct || 0) + "%");
    bar.setAttribute("data-pct", String(progress.pct || 0));
    let stage = stageText(progress.stage) + " · " + (progress.pct || 0) + "%";
    if (m.status === "queued") stage = "Na fila: começa quando o treino em andamento terminar.";
    else if (m.status === "failed") stage = "Treino encerrado sem modelo.";
    else if (!active) stage = "Concluído · 100%";
    byTestId("run-stage", panel).textContent = stage;
    showError(byTestId("run-error", panel), m.status === "failed" && m.error ? sentence(m.error) : "");
    const evalNode = byTestId("run-eval", panel);
    if (active) {
      evalNode.hidden = true;
      return;
    }
    evalNode.hidden = false;
    renderGate(panel, m);
    const ev = m.evaluation || {};
    const frozen = ev.frozen || {};
    const hasEval = !!(frozen.candidate || frozen.current);
    $all("h4, .table-wrap, [data-testid='eval-suite'], [data-testid='eval-staff'], [data-testid='eval-changes'], " +
      "[data-testid='eval-frozen-note']", evalNode).forEach(function (n) { n.hidden = !hasEval; });
    if (!hasEval) return;
    const cur = frozen.current, cand = frozen.candidate;
    let note = (cand ? cand.n : cur.n) + " mensagens escritas por quem nunca viu os dados do bot. Acerto do motivo: " +
      (cur ? "atual " + pct(cur.accuracy) + ", " : "sem modelo atual para comparar, ") + "candidato " + pct(cand && cand.accuracy) + ".";
    if (typeof frozen.changed_reason_predictions === "number") {
      note += " " + plural(frozen.changed_reason_predictions, "mensagem muda", "mensagens mudam") + " de motivo.";
    }
    byTestId("eval-frozen-note", evalNode).textContent = note;
    renderEvalTable(byTestId("eval-table", evalNode), frozen);
    renderSuite(byTestId("eval-suite", evalNode), ev.suite || {});
    renderStaffEval(byTestId("eval-staff", evalNode), ev.staff || {});
    renderChanges(byTestId("eval-changes", evalNode), (ev.staff || {}).changes || []);
  }

  function stopPolling() {
    if (S.pollTimer) window.clearTimeout(S.pollTimer);
    S.pollTimer = null;
  }

  async function watch(id) {
    stopPolling();
    S.run = id;
    let m;
    try {
      m = await api("GET", "/api/bot/models/" + id);
    } catch (e) {
      if (S.run === id) showApiError(ui.trainError, e);
      S.pollTimer = window.setTimeout(function () { if (S.run === id) watch(id); }, POLL_MS * 3);
      return;
    }
    if (S.run !== id) return;
    showError(ui.trainError, "");
    renderRun(m);
    const i = S.models.findIndex(function (x) { return x.id === m.id; });
    if (i >= 0) { S.models[i] = m; renderModels(); }
    if (ACTIVE[m.status]) {
      S.pollTimer = window.setTimeout(function () { if (S.run === id) watch(id); }, POLL_MS);
    } else {
      announce(m.status === "failed" ? "Treino nº " + m.id + " falhou." : "Treino nº " + m.id + " terminou: " +
        (m.gate && m.gate.passed ? "aprovado na avaliação." : "reprovado na avaliação."));
      await loadModels(false);
    }
  }

  ui.trainButton.addEventListener("click", async function () {
    showError(ui.trainError, "");
    ui.trainButton.disabled = true;
    try {
      const started = await api("POST", "/api/bot/models");
      announce(started.status === "queued" && started.queued_behind
        ? "Treino nº " + started.id + " na fila: começa quando o treino em andamento terminar."
        : "Treino nº " + started.id + " começou.");
      await loadModels(false);
      watch(started.id);
    } catch (e) {
      showApiError(ui.trainError, e);
    } finally {
      ui.trainButton.disabled = false;
    }
  });

  // ================================================================ 4. the registry
  function modelRow(m) {
    const deployable = m.status === "ready" || m.status === "retired";
    const evaluated = !ACTIVE[m.status];
    const gate = m.gate || {};
    return el("tr", { "data-testid": "model-row", "data-id": m.id, "data-status": m.status,
      class: m.status === "deployed" ? "live" : "" }, [
      el("th", { scope: "row", "data-col": "id" }, [document.createTextNode("nº " + m.id)]),
      el("td", { "data-col": "status" }, [el("span", { class: "pill", "data-status": m.status, "data-testid": "model-status",
        text: label(MODEL_STATUS, m.status) })]),
      el("td", { "data-col": "layer", text: m.layer_version !== null && m.layer_version !== undefined
        ? "versão " + m.layer_version : "—" }),
      el("td", { "data-col": "requested" }, [el("span", { text: agentName(m.requested_by) || "—" }),
        el("small", { text: when(m.created_at) })]),
      el("td", { "data-col": "deployed" }, m.deployed_at
        ? [el("span", { text: agentName(m.deployed_by) || "—" }), el("small", { text: when(m.deployed_at) }),
          m.retired_at ? el("small", { text: "aposentado em " + when(m.retired_at) }) : null]
        : [el("span", { text: m.retired_at ? "aposentado em " + when(m.retired_at) : "—" })]),
      el("td", { "data-col": "gate" }, [
        evaluated ? el("span", { class: "gate-pill", "data-passed": gate.passed ? "true" : "false",
          text: gate.passed ? "Aprovado" : "Reprovado" }) : el("span", { class: "running", text: "em andamento" }),
        el("button", { type: "button", class: "btn btn--small btn--ghost", "data-action": "view",
          "data-testid": "view-" + m.id, "aria-label": "Ver o treino nº " + m.id,
          text: evaluated ? "Ver avaliação" : "Acompanhar" })
      ]),
      el("td", { "data-col": "actions" }, [
        deployable ? el("button", { type: "button", class: "btn btn--small btn--primary", "data-action": "deploy",
          "data-testid": "deploy-" + m.id, "aria-label": "Implantar a versão nº " + m.id, text: "Implantar" }) : null,
        m.status === "queued" ? el("button", { type: "button", class: "btn btn--small btn--ghost", "data-action": "cancel",
          "data-testid": "cancel-" + m.id, "aria-label": "Cancelar o treino nº " + m.id, text: "Cancelar" }) : null
      ])
    ]);
  }

  function renderDeployed() {
    const live = S.models.find(function (m) { return m.status === "deployed"; }) ||
      (S.deployed !== null ? { id: S.deployed } : null);
    if (live) {
      ui.deployedVersion.setAttribute("data-deployed", String(live.id));
      ui.deployedVersion.textContent = "No ar: versão nº " + live.id +
        (live.layer_version !== null && live.layer_version !== undefined ? " (ensinamentos da versão " + live.layer_version + ")" : "") +
        (live.deployed_at ? ", implantada em " + when(live.deployed_at) +
          (live.deployed_by ? " por " + agentName(live.deployed_by) : "") : "") + ".";
      if (S.version !== null && typeof live.layer_version === "number" && live.layer_version < S.version) {
        ui.deployedVersion.textContent += " Há ensinamentos mais novos (versão " + S.version + ") ainda não treinados ou implantados.";
      }
    } else {
      ui.deployedVersion.setAttribute("data-deployed", "base");
      ui.deployedVersion.textContent = "No ar: modelo base do bot (nenhuma versão treinada pela equipe foi implantada).";
    }
  }

  function renderModels() {
    ui.modelsRows.replaceChildren.apply(ui.modelsRows, S.models.map(modelRow));
    ui.modelsTable.setAttribute("aria-busy", "false");
    ui.modelsTable.closest(".table-wrap").hidden = !S.models.length;
    ui.modelsEmpty.hidden = !!S.models.length;
    renderDeployed();
  }

  async function loadModels(showLatest) {
    ui.modelsTable.setAttribute("aria-busy", "true");
    const data = await api("GET", "/api/bot/models");
    S.models = (data && Array.isArray(data.models)) ? data.models : [];
    S.deployed = data ? data.deployed : null;
    S.staffNames = (data && data.staff) || {};
    ui.rollback.hidden = !(data && data.rollback_available);  // nothing to go back to: no button
    renderModels();
    if (showLatest && S.models.length && S.run === null) {
      const active = S.models.find(function (m) { return ACTIVE[m.status]; });
      if (active) watch(active.id);
      else renderRun(S.models[0]);
    }
  }

  function hideOverride() {
    S.pendingDeploy = null;
    ui.overrideForm.hidden = true;
    ui.overrideForm.reset();
  }

  async function deploy(id, overrideReason, busyRoot) {
    showError(ui.modelsError, "");
    setBusy(busyRoot, true);
    announce("Implantando a versão nº " + id + "… o bot continua respondendo com o modelo atual até terminar.");
    try {
      const body = overrideReason ? { override_reason: overrideReason } : {};
      await api("POST", "/api/bot/models/" + id + "/deploy", body);
      hideOverride();
      announce("Versão nº " + id + " implantada: o bot já responde com ela.");
      await loadModels(false);
    } catch (e) {
      if (e.code === "gate_failed") {
        if (isAdmin()) {
          S.pendingDeploy = id;
          ui.overrideForm.hidden = false;
          showApiError(ui.modelsError, e, "Como administrador, você pode implantar mesmo assim escrevendo uma justificativa.");
          $("textarea", ui.overrideForm).focus();
        } else {
          showApiError(ui.modelsError, e, "Somente um administrador pode implantar um modelo reprovado, com justificativa.");
        }
      } else {
        showApiError(ui.modelsError, e);
      }
      announce("");
    } finally {
      setBusy(busyRoot, false);
    }
  }

  ui.modelsRows.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const id = Number(button.closest("tr").getAttribute("data-id"));
    const m = S.models.find(function (x) { return x.id === id; });
    if (!m) return;
    const action = button.getAttribute("data-action");
    if (action === "view") {
      if (ACTIVE[m.status]) watch(id); else { stopPolling(); S.run = id; renderRun(m); }
      ui.runPanel.scrollIntoView({ block: "start" });
    } else if (action === "cancel") {
      cancelRun(id, button);
    } else {
      hideOverride();
      deploy(id, null, button.closest("tr"));
    }
  });

  async function cancelRun(id, button) {
    showError(ui.modelsError, "");
    button.disabled = true;
    try {
      await api("DELETE", "/api/bot/models/" + id);
      announce("Treino nº " + id + " cancelado.");
      await loadModels(false);
      if (S.run === id) watch(id);
    } catch (e) {
      button.disabled = false;
      showApiError(ui.modelsError, e);
    }
  }

  ui.overrideForm.addEventListener("submit", function (event) {
    event.preventDefault();
    const reason = $("textarea", ui.overrideForm).value.trim();
    if (reason.length < 10 || reason.length > 500) {
      showError(ui.modelsError, "A justificativa precisa ter de 10 a 500 caracteres.");
      return;
    }
    if (S.pendingDeploy !== null) deploy(S.pendingDeploy, reason, ui.overrideForm);
  });
  byTestId("override-cancel").addEventListener("click", function () {
    hideOverride();
    showError(ui.modelsError, "");
  });

  ui.rollback.addEventListener("click", async function () {
    showError(ui.modelsError, "");
    hideOverride();
    ui.rollback.disabled = true;
    announce("Voltando à versão anterior…");
    try {
      const result = await api("POST", "/api/bot/rollback");
      const back = result && result.deployed;
      announce("Versão nº " + result.rolled_back + " retirada do ar. " + (back && back.id !== null && back.id !== undefined
        ? "Voltou a versão nº " + back.id + "." : "Voltou o modelo base do bot."));
      await loadModels(false);
    } catch (e) {
      announce("");
      showApiError(ui.modelsError, e);
    } finally {
      ui.rollback.disabled = false;
    }
  });

  byTestId("models-refresh").addEventListener("click", async function () {
    try {
      await loadModels(false);
      announce("Lista de versões atualizada.");
    } catch (e) {
      showApiError(ui.modelsError, e);
    }
  });

  // ================================================================ page
  function applyRole(me) {
    S.me = me;
    ui.meName.textContent = me.name || me.email || "";
    document.body.setAttribute("data-role", me.role);
    $all("[data-supervisor]").forEach(function (n) { n.hidden = !isSupervisor(); });
    $all("[data-admin]").forEach(function (n) { n.hidden = !isAdmin(); });
    byTestId("readonly-note").hidden = isSupervisor();
  }

  async function guarded(task) {
    try {
      await task();
    } catch (e) {
      if (e.status !== 401) showApiError(ui.error, e);
    }
  }

  byTestId("review-refresh").addEventListener("click", async function () {
    await guarded(loadReview);
    announce("Lista de mensagens atualizada.");
  });

  byTestId("logout").addEventListener("click", async function () {
    try { await api("POST", "/api/auth/logout"); } catch (e) { /* the cookie may be gone already */ }
    window.location.replace("/login");
  });

  async function start() {
    let me;
    try {
      me = await api("GET", "/api/auth/me");
    } catch (e) {
      if (e.status !== 401) showApiError(ui.error, e);
      return;
    }
    applyRole(me);
    updateCounter();
    await Promise.all([guarded(loadIntents), guarded(loadReview), guarded(loadAnswers)]);
    renderReview(); // with the intents' choices
    if (isSupervisor()) {
      await guarded(async function () {
        try { S.agents = await api("GET", "/api/agents"); } catch (e) { S.agents = []; }
        if (!Array.isArray(S.agents)) S.agents = [];
        renderQueueChoices();
      });
      await guarded(function () { return loadModels(true); });
    }
  }

  start();
})();
