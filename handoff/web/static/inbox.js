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
 * Contract: docs/CONTRACTS.md ("Issue 4 … Staff API"). Vanilla JS, no dependencies, no build.
 * Safety: every server string is assigned with textContent (never parsed as HTML); the page is
 * served with a CSP that forbids inline scripts. Privacy: browser notifications name the reason
 * and the channel only, never the patient or the message text; nothing is logged to the console.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------- configuration
  const TZ = "America/Sao_Paulo";
  const LIST_REFRESH_MS = 30000;
  const LIST_REFRESH_OFFLINE_MS = 10000;
  const PING_MS = 25000;
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const MAX_TEXT = 4000;
  const COUNTER_FROM = 3500;
  const TAG_RE = /^[\p{L}\p{N}_][\p{L}\p{N}_ -]{0,31}$/u;
  const SUPERVISORS = { manager: 1, admin: 1 };
  const BASE_TITLE = document.title;

  const CONFIG = readConfig();

  // ---------------------------------------------------------------- pt-BR vocabulary
  const REASONS = {
    booking: "Agendamento", confirmation: "Confirmação", exams: "Exames", billing: "Financeiro",
    urgent: "Urgente", human: "Atendente", other: "Outros"
  };
  const PRIORITIES = { urgent: "Urgente", high: "Alta", normal: "Normal", low: "Baixa" };
  const CHANNELS = {
    webchat: "Site", whatsapp: "WhatsApp", sms: "SMS", email: "E-mail", instagram: "Instagram",
    messenger: "Messenger", voice: "Telefone", telegram: "Telegram"
  };
  const QUEUES = { reception: "Recepção", clinical: "Enfermagem", billing: "Financeiro", exams: "Exames",
    on_call: "Plantão" };
  const STATES = { bot: "Com o bot", queued: "Na fila", assigned: "Em atendimento",
    waiting_patient: "Aguardando paciente", resolved: "Resolvida" };
  const OUTCOMES = { resolved: "Resolvido", booked: "Agendado", not_resolved: "Não resolvido" };
  const HANDOFF_REASONS = {
    urgent: "Sinais de urgência", human: "O paciente pediu um atendente", complain: "Reclamação",
    misunderstood: "O bot não entendeu o paciente", consent_refused: "Recusou o aviso de privacidade",
    out_of_scope: "Assunto fora do escopo do bot", out_of_hours: "Fora do horário de atendimento",
    bot_unavailable: "Bot indisponível"
  };
  const INTENTS = {
    book_appointment: "Marcar consulta", reschedule_appointment: "Remarcar consulta",
    ask_availability: "Consultar horários", symptom_consult: "Sintoma (quer ser atendido)",
    confirm_appointment: "Confirmar consulta", cancel_appointment: "Cancelar consulta",
    check_appointment: "Ver consulta marcada", exam_preparation: "Preparo de exame", exam_results: "Resultado de exame",
    exam_schedule: "Agendar exame", exam_info: "Informações de exame", boleto_copy: "Segunda via de boleto",
    payment_info: "Pagamento", ask_price: "Preço", insurance: "Convênio", urgent_symptom: "Sintoma urgente",
    request_human: "Pedir atendente", complain: "Reclamação", greet: "Saudação", goodbye: "Despedida",
    thank: "Agradecimento", clinic_address: "Endereço", clinic_hours: "Horário da clínica",
    clinic_parking: "Estacionamento", clinic_accessibility: "Acessibilidade", affirm: "Confirmação (sim)",
    deny: "Negação (não)", inform: "Informação", consent_accept: "Aceitou a privacidade",
    consent_refuse: "Recusou a privacidade", nlu_fallback: "Não entendida", out_of_scope: "Fora do escopo"
  };
  const SLOT_LABELS = {
    specialty: "Especialidade", doctor: "Médico(a)", doctor_id: "Médico(a)", exam: "Exame", insurer: "Convênio",
    unit: "Unidade", name: "Nome", patient_name: "Nome", when: "Quando", date: "Data", time: "Horário",
    slot_id: "Horário escolhido", appointment_id: "Consulta", red_flag: "Sinal de alerta", booking_ctx: "Agendamento",
    plan: "Plano", symptom: "Sintoma", consent: "Consentimento"
  };
  const METRICS = { first_response: "1ª resposta", next_response: "Próxima resposta", resolution: "Resolução" };
  const SLA_STATES = { ok: "No prazo", warning: "Atenção", breached: "Estourado" };
  const SENDERS = { patient: "Paciente", bot: "Assistente virtual", agent: "Atendente", system: "Sistema" };
  const MSG_STATUS = { queued: "Na fila de envio", sending: "Enviando…", sent: "Enviada", delivered: "Entregue",
    read: "Lida", failed: "Falha no envio" };
  const ASSIGNED_BY = { least_busy: "distribuição automática", round_robin: "rodízio",
    sticky: "mesmo atendente de antes", transfer: "transferência" };
  const REQUEUE_REASONS = { agent_offline: "o atendente ficou offline", no_answer: "sem resposta do atendente",
    sla_escalation: "escalonamento de SLA", on_call: "encaminhada ao plantão" };
  const APPT_STATUS = { scheduled: "Agendada", confirmed: "Confirmada", cancelled: "Cancelada", done: "Realizada" };
  const ERRORS = {
    network: "Sem conexão com o servidor. Tente de novo.",
    not_assigned: "Assuma a conversa antes de responder.",
    not_assigned_to_you: "A conversa está com outro atendente.",
    illegal_transition: "Essa ação não é possível no estado atual da conversa.",
    forbidden: "Você não tem acesso a esta conversa.",
    reason_required: "Informe o motivo do acesso (de 3 a 300 caracteres).",
    not_found: "Conversa não encontrada.",
    csrf: "Sessão inválida: recarregue a página.",
    not_eligible_not_online: "Fique online para assumir conversas.",
    not_eligible_not_in_queue: "Esta conversa é de uma fila que não é a sua.",
    not_eligible_missing_skills: "Esta conversa pede habilidades que você não tem cadastradas.",
    not_eligible_at_capacity: "Você atingiu o limite de conversas simultâneas.",
    not_eligible_channel_full: "Você atingiu o limite de conversas deste canal.",
    agent_not_online: "O atendente escolhido não está online.",
    agent_at_capacity: "O atendente escolhido está no limite de conversas.",
    agent_channel_full: "O atendente escolhido está no limite deste canal.",
    already_assigned: "A conversa já está com este atendente.",
    window_closed: "A janela de 24 horas do WhatsApp fechou: só é possível enviar um modelo aprovado.",
    invalid_variables: "Preencha todas as variáveis do modelo.",
    unknown_template: "Modelo não encontrado.",
    template_unavailable: "Este modelo não está aprovado neste canal.",
    invalid_tags: "Etiquetas: até 20, com até 32 letras, números, espaço ou hífen.",
    generic: "Não foi possível concluir. Tente de novo."
  };
  const T = {
    live: { connecting: "Conectando…", online: "Ao vivo", reconnecting: "Reconectando…", offline: "Sem conexão",
      error: "Sem tempo real (atualiza a cada 10 s)" },
    unnamed: "Paciente sem nome",
    noValue: "—",
    nothingCollected: "Nada coletado",
    noAppointments: "Nenhuma consulta marcada",
    noOtherConversations: "Nenhuma outra conversa",
    consentNone: "Não registrado",
    replyPlaceholder: "Escreva a resposta… (Enter envia, Shift+Enter quebra a linha)",
    notePlaceholder: "Nota interna: só a equipe vê (Enter salva)",
    send: "Enviar",
    claimAndSend: "Assumir e enviar",
    saveNote: "Salvar nota",
    windowClosed: "A janela de 24 horas do WhatsApp fechou: só é possível enviar um modelo aprovado.",
    windowExpired: "O prazo para responder nesta conversa terminou: aguarde uma nova mensagem do paciente.",
    noTemplates: "Nenhum modelo aprovado para este canal.",
    internalNote: "Nota interna",
    newQueueTitle: "Nova conversa na fila",
    assignedTitle: "Conversa atribuída a você",
    patientTitle: "Nova mensagem de paciente",
    today: "Hoje",
    yesterday: "Ontem",
    thisConversation: "Esta conversa",
    otherConversation: "Outra conversa",
    you: "você",
    notificationsBlocked: "As notificações estão bloqueadas neste navegador.",
    deliveryFailed: "Uma mensagem não pôde ser entregue ao paciente.",
    requeued: "Uma conversa sua voltou para a fila",
    slaWarning: "Atenção ao SLA de uma conversa sua.",
    slaBreach: "SLA estourado em uma conversa.",
    csat: function (n) { return "O paciente avaliou o atendimento: " + n + "/5"; },
    nps: function (n) { return "Nota de recomendação do paciente: " + n + "/10"; },
    tooLong: "Mensagem longa demais (máximo de " + MAX_TEXT + " caracteres).",
    counter: function (n) { return n + "/" + MAX_TEXT; }
  };

  // ---------------------------------------------------------------- small helpers
  function readConfig() {
    const node = document.getElementById("inbox-config");
    let cfg = {};
    try { cfg = JSON.parse(node ? node.textContent : "{}") || {}; } catch (e) { cfg = {}; }
    const replies = Array.isArray(cfg.quick_replies) ? cfg.quick_replies.filter(function (q) {
      return q && typeof q.title === "string" && typeof q.text === "string" && q.title.trim() && q.text.trim();
    }) : [];
    return { clinic: typeof cfg.clinic === "string" ? cfg.clinic : "", quickReplies: replies.slice(0, 12) };
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        const v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") node.textContent = String(v);
        else if (k === "className") node.className = v;
        else node.setAttribute(k, v === true ? "" : String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICONS = {
    webchat: ["M21 11.5a8.38 8.38 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.38 8.38 0 0 1-3.8-.9L3 21l1.9-5.7" +
      "a8.38 8.38 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.38 8.38 0 0 1 3.8-.9h.5a8.48 8.48 0 0 1 8 8v.5z"],
    whatsapp: ["M3 21l1.65-3.8A9 9 0 1 1 8.4 20.3L3 21", "M9 10a.5.5 0 0 0 1 0V9a.5.5 0 0 0-1 0v1a5 5 0 0 0 5 5h1" +
      "a.5.5 0 0 0 0-1h-1a.5.5 0 0 0 0 1"],
    sms: ["M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"],
    email: ["M4 4h16a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z", "M22 6l-10 7L2 6"],
    instagram: ["M7 2h10a5 5 0 0 1 5 5v10a5 5 0 0 1-5 5H7a5 5 0 0 1-5-5V7a5 5 0 0 1 5-5z",
      "M16 11.37A4 4 0 1 1 12.63 8 4 4 0 0 1 16 11.37z", "M17.5 6.5h.01"],
    messenger: ["M12 2C6.5 2 2 6.1 2 11.2c0 2.9 1.5 5.5 3.8 7.2V22l3.4-1.9c.9.3 1.8.4 2.8.4 5.5 0 10-4.1 10-9.2" +
      "S17.5 2 12 2z", "M6 14l4-4 3 3 5-5-4 4-3-3z"],
    voice: ["M22 16.92v3a2 2 0 0 1-2.18 2 19.79 19.79 0 0 1-8.63-3.07 19.5 19.5 0 0 1-6-6 19.79 19.79 0 0 1" +
      "-3.07-8.67A2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72c.13.96.36 1.9.7 2.81a2 2 0 0 1-.45 2.11L8.09 9.91a16 16 0 0" +
      " 0 6 6l1.27-1.27a2 2 0 0 1 2.11-.45c.91.34 1.85.57 2.81.7A2 2 0 0 1 22 16.92z"],
    lock: ["M5 11h14v10H5z", "M8 11V7a4 4 0 0 1 8 0v4"]
  };

  function icon(name, size) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size || 16));
    svg.setAttribute("height", String(size || 16));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "icon");
    (ICONS[name] || ICONS.sms).forEach(function (d) {
      const p = document.createElementNS(SVG_NS, "path");
      p.setAttribute("d", d);
      svg.appendChild(p);
    });
    return svg;
  }

  function label(map, key, fallback) {
    if (key === null || key === undefined || key === "") return fallback === undefined ? T.noValue : fallback;
    return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : String(key);
  }

  function firstName(name) {
    return String(name || "").trim().split(/\s+/)[0] || "";
  }

  // ---------------------------------------------------------------- time (clinic zone)
  const fmtTime = new Intl.DateTimeFormat("pt-BR", { timeZone: TZ, hour: "2-digit", minute: "2-digit" });
  const fmtDate = new Intl.DateTimeFormat("pt-BR", { timeZone: TZ, day: "2-digit", month: "2-digit", year: "numeric" });
  const fmtShort = new Intl.DateTimeFormat("pt-BR", { timeZone: TZ, weekday: "short", day: "2-digit",
    month: "2-digit", hour: "2-digit", minute: "2-digit" });
  const fmtFull = new Intl.DateTimeFormat("pt-BR", { timeZone: TZ, dateStyle: "full", timeStyle: "short" });

  function toDate(iso) {
    if (!iso) return null;
    const d = new Date(iso);
    return isNaN(d.getTime()) ? null : d;
  }

  function dayOf(d) { return fmtDate.format(d); }

  function dayLabel(d) {
    const key = dayOf(d);
    if (key === dayOf(new Date())) return T.today;
    if (key === dayOf(new Date(Date.now() - 86400000))) return T.yesterday;
    return key;
  }

  // "14:03" today, "12/03/2025 14:03" on other days (always in the clinic's zone).
  function stamp(iso) {
    const d = toDate(iso);
    if (!d) return "";
    const time = fmtTime.format(d);
    return dayOf(d) === dayOf(new Date()) ? time : dayOf(d) + " " + time;
  }

  function duration(fromIso) {
    const d = toDate(fromIso);
    if (!d) return "";
    let s = Math.max(0, Math.floor((Date.now() - d.getTime()) / 1000));
    if (s < 60) return s + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + " min";
    const h = Math.floor(m / 60);
    if (h < 24) return h + " h " + String(m % 60).padStart(2, "0") + " min";
    s = Math.floor(h / 24);
    return s + " d " + (h % 24) + " h";
  }

  // ---------------------------------------------------------------- masking (the card shows only what is needed)
  function maskPhone(raw) {
    if (!raw) return T.noValue;
    const digits = String(raw).replace(/\D/g, "");
    if (digits.length < 6) return "••••";
    let prefix = "";
    let rest = digits;
    if (rest.length >= 12 && rest.indexOf("55") === 0) { prefix = "+55 "; rest = rest.slice(2); }
    if (rest.length >= 10) prefix += "(" + rest.slice(0, 2) + ") ";
    return prefix + "•••••-" + digits.slice(-4);
  }

  function maskEmail(raw) {
    if (!raw) return T.noValue;
    const at = String(raw).lastIndexOf("@");
    if (at < 1) return "•••";
    const local = raw.slice(0, at);
    const domain = raw.slice(at + 1);
    return local.charAt(0) + "•••" + (local.length > 2 ? local.charAt(local.length - 1) : "") + "@" + domain;
  }

  // ---------------------------------------------------------------- state
  const S = {
    reasons: {}, // conversation id -> the access reason given (outside one's own queues; docs/access-matrix.md)
    me: null,
    queue: [],
    mine: [],
    listsLoaded: false,
    knownQueue: new Set(),
    knownMine: new Set(),
    unread: new Set(),
    suppress: new Map(), // conversation id -> until (ms): my own actions do not notify me
    tab: "queue",
    openId: null,
    detail: null, // GET /api/conversations/<id> of the open conversation
    msgIds: new Set(),
    liveLog: [], // what arrived live for the open conversation (replayed over a reload that raced it)
    lastDay: null,
    lastConv: null,
    noteEchoes: [], // notes I saved: their socket echo is not shown twice
    drafts: {},
    agents: null, // null = not loaded, false = not allowed (attendants)
    templates: null, // GET /api/templates (approved WhatsApp templates), loaded when first needed
    names: {}, // agent id -> name, learnt from socket events and notes
    busy: false,
    ws: null,
    wsReady: false,
    attempts: 0,
    reconnectTimer: null,
    pingTimer: null,
    listTimer: null,
    listsDebounce: null,
    detailDebounce: null,
    hadConnection: false,
    loadSeq: 0,
    listSeq: 0,
    listApplied: 0
  };

  const ui = {
    app: $(".app"),
    live: $('[data-testid="live-status"]'),
    presence: $('[data-testid="presence-select"]'),
    presenceWrap: $(".presence"),
    notifyBtn: $('[data-testid="notify-enable"]'),
    meName: $('[data-testid="me-name"]'),
    dashLink: $('[data-testid="dashboard-link"]'),
    teamLink: $('[data-testid="team-link"]'),
    auditLink: $('[data-testid="audit-link"]'),
    integrationsLink: $('[data-testid="integrations-link"]'),
    remindersLink: $('[data-testid="reminders-link"]'),
    botLink: $('[data-testid="bot-link"]'),
    logout: $('[data-testid="logout"]'),
    tabs: $all('[role="tab"]'),
    queueList: $('[data-testid="queue-list"]'),
    mineList: $('[data-testid="mine-list"]'),
    placeholder: $('[data-testid="conversation-placeholder"]'),
    conv: $('[data-testid="conversation"]'),
    title: $('[data-testid="conv-title"]'),
    meta: $('[data-testid="conv-meta"]'),
    actions: $(".conv-actions"),
    tagList: $(".tag-list"),
    tagForm: $(".tag-form"),
    tagInput: $('[data-testid="tag-input"]'),
    scroller: $(".timeline-scroll"),
    timeline: $('[data-testid="timeline"]'),
    banner: $('[data-testid="conv-banner"]'),
    composer: $('[data-testid="composer"]'),
    input: $('[data-testid="composer-input"]'),
    send: $('[data-testid="composer-send"]'),
    noteToggle: $('[data-testid="note-toggle"]'),
    hint: $('[data-testid="composer-hint"]'),
    quick: $('[data-testid="quick-replies"]'),
    templatePicker: $('[data-testid="template-picker"]'),
    templateSelect: $('[data-testid="template-select"]'),
    templateVars: $('[data-testid="template-vars"]'),
    templatePreview: $('[data-testid="template-preview"]'),
    templateSend: $('[data-testid="template-send"]'),
    botCard: $('[data-testid="bot-context"]'),
    reasonForm: $('[data-testid="reason-fix"]'),
    reasonSelect: $('[data-testid="reason-select"]'),
    patientCard: $('[data-testid="patient-card"]'),
    transferDialog: $('[data-testid="transfer-dialog"]'),
    resolveDialog: $('[data-testid="resolve-dialog"]'),
    toasts: $('[data-testid="toasts"]'),
    announcer: $('[data-testid="announcer"]')
  };

  // ---------------------------------------------------------------- HTTP
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function toLogin() {
    window.location.replace("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
  }

  function errorText(code, serverMessage) {
    if (code && ERRORS[code]) return ERRORS[code];
    if (code && code.indexOf("not_eligible_") === 0) return ERRORS.not_eligible_not_in_queue;
    return serverMessage || ERRORS.generic;
  }

  async function api(method, path, body) {
    const opts = { method: method, credentials: "same-origin",
      headers: { Accept: "application/json", "X-Requested-With": "atende" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, "network", ERRORS.network);
    }
    if (response.status === 401) {
      toLogin();
      throw new ApiError(401, "unauthorized", "");
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(response.status, err.code || "error", errorText(err.code, err.message));
    }
    return data;
  }

  function convPath(id, action) {
    return "/api/conversations/" + encodeURIComponent(id) + (action ? "/" + action : "");
  }

  // A conversation outside the attendant's own queues (grant all_queues) opens only with a reason,
  // which the hub writes to the audit log; it is kept for this page's later reads of it.
  function withReason(path, id) {
    const reason = S.reasons[id];
    return reason ? path + (path.indexOf("?") < 0 ? "?" : "&") + "reason=" + encodeURIComponent(reason) : path;
  }

  function askReason() {
    const text = window.prompt("Esta conversa não é da sua fila. Informe o motivo do acesso " +
      "(de 3 a 300 caracteres); ele fica registrado na auditoria.");
    const reason = String(text || "").trim();
    return reason.length >= 3 && reason.length <= 300 ? reason : null;
  }

  // ---------------------------------------------------------------- toasts, announcements, title
  function toast(text, kind) {
    if (!text) return;
    const node = el("div", { className: "toast toast--" + (kind || "info"), "data-testid": "toast" }, [
      el("span", { text: text }),
      el("button", { type: "button", className: "toast-close", "aria-label": "Fechar aviso", text: "×" })
    ]);
    node.lastChild.addEventListener("click", function () { node.remove(); });
    ui.toasts.appendChild(node);
    setTimeout(function () { node.remove(); }, kind === "error" ? 9000 : 6000);
  }

  function announce(text) {
    ui.announcer.textContent = "";
    setTimeout(function () { ui.announcer.textContent = text; }, 30);
  }

  function suppressed(id) {
    const until = S.suppress.get(id);
    return until !== undefined && until > Date.now();
  }

  function actedOn(id) {
    S.suppress.set(id, Date.now() + 15000);
  }

  function updateBadges() {
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
  function notificationsSupported() { return "Notification" in window; }

  function updateNotifyButton() {
    ui.notifyBtn.hidden = !notificationsSupported() || Notification.permission !== "default";
  }

  function notify(title, body, convId) {
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

  // ---------------------------------------------------------------- lists
  function slaOf(item) {
    const sla = item.sla || null;
    if (!sla) return { state: "none", text: "" };
    let state = sla.state || "ok";
    const deadline = toDate(sla.deadline);
    if (deadline && deadline.getTime() <= Date.now()) state = "breached";
    let text = label(SLA_STATES, state) + " · " + label(METRICS, sla.metric);
    if (deadline) text += (deadline.getTime() <= Date.now() ? " · venceu " : " · vence ") + stamp(sla.deadline);
    return { state: state, text: text, deadline: sla.deadline || "" };
  }

  function channelTag(channel) {
    return el("span", { className: "channel", title: "Canal: " + label(CHANNELS, channel) },
      [icon(channel, 14), el("span", { text: label(CHANNELS, channel) })]);
  }

  function queueItem(q) {
    const id = q.conversation_id;
    const sla = slaOf(q);
    const prio = q.priority || "normal";
    const eff = q.effective_priority || prio;
    const current = id === S.openId ? "true" : null;
    const button = el("button", { type: "button", className: "conv-link", "aria-current": current },
      [
        el("span", { className: "row" }, [
          el("span", { className: "prio prio--" + prio, "data-testid": "priority",
            title: eff !== prio ? "Prioridade efetiva (tempo de espera): " + label(PRIORITIES, eff) : null,
            text: label(PRIORITIES, prio) + (eff !== prio ? " ↑" : "") }),
          el("span", { className: "reason reason--" + (q.reason || "other"), "data-testid": "reason",
            text: label(REASONS, q.reason || "other") }),
          channelTag(q.channel),
          S.unread.has(id) ? el("span", { className: "dot", title: "Novidade", "aria-label": "Novidade" }) : null
        ]),
        el("span", { className: "row row--name" }, [
          el("span", { className: "name", text: q.patient_name || T.unnamed }),
          el("span", { className: "queue-name", text: label(QUEUES, q.queue) })
        ]),
        el("span", { className: "row row--meta" }, [
          el("span", { className: "wait" }, [
            el("span", { className: "sr-only", text: "Esperando há " }),
            el("span", { "data-since": q.waiting_since || "", "data-testid": "waiting",
              text: duration(q.waiting_since) })
          ]),
          sla.text ? el("span", { className: "sla", "data-testid": "sla", text: sla.text }) : null
        ])
      ]);
    button.addEventListener("click", function () { openConversation(id); });
    return el("li", { className: "conv-item", "data-testid": "queue-item", "data-conversation-id": id,
      "data-sla": sla.state, "data-deadline": sla.deadline || null, "data-priority": prio,
      "data-unread": S.unread.has(id) ? "true" : null }, [button]);
  }

  function mineItem(c) {
    const id = c.id || c.conversation_id;
    const sla = slaOf(c);
    const current = id === S.openId ? "true" : null;
    const button = el("button", { type: "button", className: "conv-link", "aria-current": current },
      [
        el("span", { className: "row" }, [
          el("span", { className: "state state--" + c.state, text: label(STATES, c.state) }),
          el("span", { className: "reason reason--" + (c.reason || "other"),
            text: label(REASONS, c.reason || "other") }),
          channelTag(c.channel),
          S.unread.has(id) ? el("span", { className: "dot", title: "Nova mensagem", "aria-label": "Nova mensagem" })
            : null
        ]),
        el("span", { className: "row row--name" }, [
          el("span", { className: "name", text: c.patient_name || T.unnamed }),
          el("span", { className: "queue-name", text: label(QUEUES, c.queue) })
        ]),
        el("span", { className: "row row--meta" }, [
          el("span", { className: "wait" }, [
            el("span", { className: "sr-only", text: "Última atividade há " }),
            el("span", { "data-since": c.last_inbound_at || c.updated_at || "",
              text: duration(c.last_inbound_at || c.updated_at) })
          ]),
          sla.text ? el("span", { className: "sla", text: sla.text }) : null
        ])
      ]);
    button.addEventListener("click", function () { openConversation(id); });
    return el("li", { className: "conv-item", "data-testid": "mine-item", "data-conversation-id": id,
      "data-sla": sla.state, "data-deadline": sla.deadline || null, "data-state": c.state,
      "data-unread": S.unread.has(id) ? "true" : null }, [button]);
  }

  function renderLists() {
    const focusedItem = document.activeElement && document.activeElement.closest ?
      document.activeElement.closest(".conv-item") : null;
    const focusedId = focusedItem ? focusedItem.dataset.conversationId : null;
    const focusedList = focusedId ? document.activeElement.closest("ul") : null;
    ui.queueList.replaceChildren.apply(ui.queueList, S.queue.map(queueItem));
    ui.mineList.replaceChildren.apply(ui.mineList, S.mine.map(mineItem));
    $('[data-empty="queue"]').hidden = S.queue.length > 0;
    $('[data-empty="mine"]').hidden = S.mine.length > 0;
    $('[data-count="queue"]').textContent = String(S.queue.length);
    $('[data-count="mine"]').textContent = String(S.mine.length);
    if (focusedId && focusedList) { // keep the keyboard where it was
      const again = focusedList.querySelector('[data-conversation-id="' + CSS.escape(focusedId) + '"] button');
      if (again) again.focus();
    }
    updateBadges();
  }

  async function loadLists() {
    const seq = ++S.listSeq;
    let queue;
    let mine;
    try {
      [queue, mine] = await Promise.all([api("GET", "/api/queue"), api("GET", "/api/conversations?scope=mine")]);
    } catch (e) {
      if (seq >= S.listApplied && e.status !== 401) setLoadError(true);
      return;
    }
    if (seq < S.listApplied) return; // an answer to a newer request is shown already
    S.listApplied = seq;
    setLoadError(false);
    queue = Array.isArray(queue) ? queue : [];
    mine = Array.isArray(mine) ? mine : [];
    const first = !S.listsLoaded;
    const fresh = [];
    queue.forEach(function (q) {
      if (!S.knownQueue.has(q.conversation_id) && !first && !suppressed(q.conversation_id)) fresh.push(q);
    });
    const assigned = [];
    mine.forEach(function (c) {
      if (!S.knownMine.has(c.id) && !first && !suppressed(c.id)) assigned.push(c);
    });
    S.queue = queue;
    S.mine = mine;
    S.knownQueue = new Set(queue.map(function (q) { return q.conversation_id; }));
    S.knownMine = new Set(mine.map(function (c) { return c.id; }));
    S.listsLoaded = true;
    fresh.forEach(function (q) {
      if (q.conversation_id !== S.openId || document.hidden) S.unread.add(q.conversation_id);
      const what = label(REASONS, q.reason || "other") + " · " + label(CHANNELS, q.channel) +
        (q.priority === "urgent" ? " · URGENTE" : "");
      notify(T.newQueueTitle, what, q.conversation_id);
      announce(T.newQueueTitle + ": " + what);
    });
    assigned.forEach(function (c) {
      if (c.id !== S.openId || document.hidden) S.unread.add(c.id);
      const what = label(REASONS, c.reason || "other") + " · " + label(CHANNELS, c.channel);
      notify(T.assignedTitle, what, c.id);
      announce(T.assignedTitle + ": " + what);
    });
    // Forget news about conversations that are no longer ours or waiting.
    S.unread.forEach(function (id) {
      if (!S.knownQueue.has(id) && !S.knownMine.has(id)) S.unread.delete(id);
    });
    renderLists();
  }

  function setLoadError(on) {
    ui.app.toggleAttribute("data-load-error", on);
  }

  function refreshLists(delay) {
    clearTimeout(S.listsDebounce);
    S.listsDebounce = setTimeout(loadLists, delay === undefined ? 250 : delay);
  }

  function scheduleListPolling() {
    clearTimeout(S.listTimer);
    S.listTimer = setTimeout(function () {
      // Without the socket nothing else tells us about the open conversation: reload it too.
      if (!S.wsReady && S.openId && !document.hidden) refreshDetail();
      loadLists().finally(scheduleListPolling);
    }, S.wsReady ? LIST_REFRESH_MS : LIST_REFRESH_OFFLINE_MS);
  }

  // Waiting times tick every second; an SLA deadline that passes turns the item red.
  function tick() {
    $all("[data-since]").forEach(function (node) {
      const iso = node.getAttribute("data-since");
      if (iso) node.textContent = duration(iso);
    });
    $all("[data-deadline]").forEach(function (node) {
      const d = toDate(node.getAttribute("data-deadline"));
      if (d && d.getTime() <= Date.now() && node.getAttribute("data-sla") !== "breached") {
        node.setAttribute("data-sla", "breached");
      }
    });
  }

  // ---------------------------------------------------------------- tabs
  function selectTab(name, focus) {
    S.tab = name;
    ui.tabs.forEach(function (tab) {
      const on = tab.dataset.tab === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      document.getElementById(tab.getAttribute("aria-controls")).hidden = !on;
      if (on && focus) tab.focus();
    });
  }

  ui.tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { selectTab(tab.dataset.tab, false); });
    tab.addEventListener("keydown", function (e) {
      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft" && e.key !== "Home" && e.key !== "End") return;
      e.preventDefault();
      let j = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 :
        e.key === "Home" ? 0 : ui.tabs.length - 1;
      j = (j + ui.tabs.length) % ui.tabs.length;
      selectTab(ui.tabs[j].dataset.tab, true);
    });
  });

  // ---------------------------------------------------------------- the open conversation
  function conversation() { return S.detail ? S.detail.conversation : null; }

  function isSupervisor() { return !!(S.me && SUPERVISORS[S.me.role]); }

  function holdsIt(c) { return !!(c && S.me && c.assigned_agent_id === S.me.id); }

  function who(agentId, fallbackName) {
    if (agentId === null || agentId === undefined) return fallbackName || "a equipe";
    if (S.me && agentId === S.me.id) return T.you;
    if (fallbackName) return fallbackName;
    if (S.names[agentId]) return S.names[agentId];
    if (Array.isArray(S.agents)) {
      const a = S.agents.find(function (x) { return x.id === agentId; });
      if (a) return a.name;
    }
    return "atendente nº " + agentId;
  }

  async function openConversation(id) {
    if (!id) return;
    if (S.openId && S.openId !== id) S.drafts[S.openId] = ui.input.value;
    const switching = S.openId !== id;
    S.openId = id;
    S.unread.delete(id);
    renderLists();
    ui.app.setAttribute("data-view", "conv");
    ui.placeholder.hidden = true;
    ui.conv.hidden = false;
    if (switching) {
      S.detail = null;
      S.liveLog = [];
      ui.conv.setAttribute("aria-busy", "true");
      ui.title.textContent = "Carregando…";
      ui.meta.textContent = "";
      ui.timeline.replaceChildren();
      ui.botCard.hidden = true;
      ui.patientCard.hidden = true;
      ui.input.value = S.drafts[id] || "";
      ui.noteToggle.checked = false;
      updateComposerMode();
    }
    await loadDetail(true);
    if (switching && S.openId === id && window.matchMedia("(min-width: 761px)").matches) {
      ui.input.focus({ preventScroll: true });
    }
  }

  async function loadDetail(scrollDown) {
    const id = S.openId;
    if (!id) return;
    const seq = ++S.loadSeq;
    const liveMark = S.liveLog.length;
    let detail;
    try {
      detail = await api("GET", withReason(convPath(id), id));
    } catch (e) {
      if (seq !== S.loadSeq || S.openId !== id) return;
      if (e.code === "reason_required" && !S.reasons[id]) {
        const reason = askReason();
        if (reason) {
          S.reasons[id] = reason;
          return loadDetail(scrollDown);
        }
      }
      if (e.status === 403 || e.status === 404) {
        toast(e.message, "error");
        closeConversation();
      } else if (e.status !== 401) {
        toast(e.message, "error");
      }
      return;
    }
    if (seq !== S.loadSeq || S.openId !== id) return; // a newer load or another conversation won
    S.detail = detail;
    ui.conv.removeAttribute("aria-busy");
    const stick = scrollDown || nearBottom();
    const top = ui.scroller.scrollTop;
    renderHeader();
    renderTags();
    renderTimeline();
    replayLive(liveMark);
    renderContext();
    updateComposerMode();
    if (stick) scrollToBottom();
    else ui.scroller.scrollTop = top; // reading older messages: stay there
  }

  // Messages and notes that arrived live while the detail was being fetched may be missing from
  // it (read before they were stored): show them again after the re-render (messages by id).
  function replayLive(mark) {
    const notes = (S.detail.events || []).filter(function (e) { return e.type === "note"; });
    S.liveLog.slice(mark).forEach(function (entry) {
      if (entry.kind === "msg") {
        appendMessage(entry.m);
      } else if (!notes.some(function (e) {
        return e.data && e.data.text === entry.note.text && e.data.agent_id === entry.note.agent_id;
      })) {
        appendNote(entry.note, entry.at);
      }
    });
    S.liveLog = S.liveLog.slice(-50);
  }

  function refreshDetail() {
    clearTimeout(S.detailDebounce);
    S.detailDebounce = setTimeout(function () { loadDetail(false); }, 400);
  }

  function closeConversation() {
    S.openId = null;
    S.detail = null;
    ui.conv.hidden = true;
    ui.placeholder.hidden = false;
    ui.botCard.hidden = true;
    ui.patientCard.hidden = true;
    ui.app.setAttribute("data-view", "list");
    renderLists();
  }

  // Apply a conversation view returned by an action (claim, reply, tags, transfer…).
  function applyConversation(view) {
    if (!view || !S.detail || view.id !== S.openId) return;
    S.detail.conversation = Object.assign({}, S.detail.conversation, view);
    renderHeader();
    renderTags();
    updateComposerMode();
  }

  function renderHeader() {
    const c = conversation();
    if (!c) return;
    const patient = S.detail.patient || {};
    ui.title.textContent = patient.name || c.patient_name || T.unnamed;
    const parts = [label(CHANNELS, c.channel), "Fila " + label(QUEUES, c.queue), label(STATES, c.state)];
    if (c.state === "assigned" || c.state === "waiting_patient") {
      parts[2] += " · com " + who(c.assigned_agent_id);
    }
    if (c.state === "resolved" && c.outcome) parts[2] += " · " + label(OUTCOMES, c.outcome);
    if (c.priority && c.priority !== "normal") parts.push("Prioridade " + label(PRIORITIES, c.priority).toLowerCase());
    ui.meta.replaceChildren(el("span", { text: parts.join(" · ") }));
    const sla = headlineSla();
    if (sla) ui.meta.appendChild(el("span", { className: "sla-chip", "data-sla": sla.state, "data-testid": "conv-sla",
      "data-deadline": sla.deadline || null, text: sla.text }));
    ui.conv.setAttribute("data-state", c.state);

    const held = c.state === "assigned" || c.state === "waiting_patient";
    const mineOrBoss = holdsIt(c) || isSupervisor();
    const show = {
      claim: c.state === "queued",
      wait: c.state === "assigned" && mineOrBoss,
      transfer: (held && mineOrBoss) || (c.state === "queued" && isSupervisor()),
      resolve: c.state === "queued" || (held && mineOrBoss),
      reopen: c.state === "resolved"
    };
    Object.keys(show).forEach(function (k) {
      const b = ui.actions.querySelector('[data-action="' + k + '"]');
      if (b) b.hidden = !show[k];
    });
  }

  function headlineSla() {
    const sla = S.detail && S.detail.sla;
    const c = conversation();
    if (!sla || !c || (c.state !== "queued" && c.state !== "assigned" && c.state !== "waiting_patient")) return null;
    if (sla.waiting_patient) return { state: "paused", text: "SLA pausado: aguardando o paciente" };
    const clocks = (sla.clocks || []).filter(function (k) { return k.status === "running" && k.deadline; });
    clocks.sort(function (a, b) { return Date.parse(a.deadline) - Date.parse(b.deadline); });
    const k = clocks[0];
    if (!k) return null;
    let state = k.state || "ok";
    if (Date.parse(k.deadline) <= Date.now()) state = "breached";
    const pct = typeof k.percent === "number" ? " (" + Math.round(k.percent) + "%)" : "";
    return { state: state, deadline: k.deadline,
      text: label(METRICS, k.metric) + ": " + label(SLA_STATES, state).toLowerCase() + pct +
        " · vence " + stamp(k.deadline) };
  }

  // ---------------------------------------------------------------- tags
  function renderTags() {
    const c = conversation();
    const tags = (c && c.tags) || [];
    ui.tagList.replaceChildren.apply(ui.tagList, tags.map(function (tag) {
      const remove = el("button", { type: "button", className: "tag-remove", "aria-label": "Remover etiqueta " + tag,
        title: "Remover", text: "×" });
      remove.addEventListener("click", function () {
        saveTags(tags.filter(function (t) { return t !== tag; }));
      });
      return el("li", { className: "tag", "data-testid": "tag" }, [el("span", { text: tag }), remove]);
    }));
  }

  async function saveTags(tags) {
    const id = S.openId;
    if (!id) return;
    try {
      const view = await api("POST", convPath(id, "tags"), { tags: tags });
      actedOn(id);
      applyConversation(view);
      refreshDetail();
    } catch (e) {
      toast(e.message, "error");
    }
  }

  // An attendant fixes the bot's reason tag; the bot review ("O que o bot não entendeu") reads it.
  ui.reasonForm.addEventListener("submit", async function (e) {
    e.preventDefault();
    const id = S.openId;
    const c = conversation();
    if (!id || !c || ui.reasonSelect.value === c.reason) return;
    try {
      const view = await api("POST", convPath(id, "reason"), { reason: ui.reasonSelect.value });
      actedOn(id);
      applyConversation(view);
      refreshDetail();
      toast("Motivo corrigido: " + label(REASONS, view.reason) + ". O bot vai aprender com esta conversa.", "ok");
    } catch (err) {
      toast(err.message, "error");
    }
  });

  ui.tagForm.addEventListener("submit", function (e) {
    e.preventDefault();
    const value = ui.tagInput.value.trim().toLowerCase();
    if (!value) return;
    if (!TAG_RE.test(value)) {
      toast(ERRORS.invalid_tags, "error");
      return;
    }
    const c = conversation();
    const tags = ((c && c.tags) || []).slice();
    if (tags.indexOf(value) < 0) tags.push(value);
    ui.tagInput.value = "";
    saveTags(tags);
  });

  // ---------------------------------------------------------------- timeline
  function nearBottom() {
    const s = ui.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
  }

  function scrollToBottom() {
    ui.scroller.scrollTop = ui.scroller.scrollHeight;
  }

  function timelineItems(detail) {
    const items = [];
    (detail.messages || []).forEach(function (m) { items.push({ kind: "msg", at: m.created_at, seq: m.id, m: m }); });
    (detail.events || []).forEach(function (e) {
      if (e.type === "note") {
        items.push({ kind: "note", at: e.created_at, seq: e.id, e: e });
        if (e.data && typeof e.data.agent_name === "string") S.names[e.data.agent_id] = e.data.agent_name;
      }
      else if (eventText(e)) items.push({ kind: "event", at: e.created_at, seq: e.id, e: e });
    });
    const rank = { msg: 0, event: 1, note: 2 };
    items.sort(function (a, b) {
      const ta = Date.parse(a.at) || 0;
      const tb = Date.parse(b.at) || 0;
      if (ta !== tb) return ta - tb;
      if (a.kind !== b.kind) return rank[a.kind] - rank[b.kind];
      return (a.seq || 0) - (b.seq || 0);
    });
    return items;
  }

  function renderTimeline() {
    S.msgIds = new Set();
    S.lastDay = null;
    S.lastConv = null;
    ui.timeline.setAttribute("aria-busy", "true"); // do not read the whole history aloud
    ui.timeline.replaceChildren();
    timelineItems(S.detail).forEach(appendItem);
    ui.timeline.removeAttribute("aria-busy");
  }

  function separators(at, convId) {
    const d = toDate(at) || new Date();
    const day = dayOf(d);
    if (day !== S.lastDay) {
      S.lastDay = day;
      ui.timeline.appendChild(el("li", { className: "sep sep--day", role: "separator" },
        [el("span", { text: dayLabel(d) })]));
    }
    if (convId && convId !== S.lastConv) {
      const first = S.lastConv === null;
      S.lastConv = convId;
      const current = convId === S.openId;
      if (!(first && current)) {
        const others = (S.detail.patient || {}).other_conversations || [];
        const other = others.find(function (c) { return c.id === convId; });
        const channel = other ? label(CHANNELS, other.channel) : label(CHANNELS, (conversation() || {}).channel);
        ui.timeline.appendChild(el("li", { className: "sep sep--conv" + (current ? "" : " sep--other"),
          role: "separator" },
          [el("span", { text: (current ? T.thisConversation : T.otherConversation) + " · " + channel })]));
      }
    }
  }

  function appendItem(item) {
    if (item.kind === "msg") return appendMessage(item.m);
    if (item.kind === "note") return appendNote(item.e.data || {}, item.e.created_at);
    separators(item.e.created_at, S.openId);
    ui.timeline.appendChild(el("li", { className: "event", "data-testid": "event", "data-type": item.e.type }, [
      el("span", { text: eventText(item.e) }),
      el("time", { datetime: item.e.created_at || null, text: stamp(item.e.created_at) })
    ]));
    return null;
  }

  function appendMessage(m) {
    if (!m || m.id === undefined || m.id === null || S.msgIds.has(m.id)) return null;
    S.msgIds.add(m.id);
    const sender = SENDERS[m.sender] ? m.sender : m.direction === "in" ? "patient" : "bot";
    separators(m.created_at, m.conversation_id || S.openId);
    const bubble = el("div", { className: "bubble" }, [
      el("span", { className: "sr-only", text: SENDERS[sender] + ": " })
    ]);
    if (m.text) bubble.appendChild(el("p", { className: "text", text: m.text }));
    const buttons = Array.isArray(m.buttons) ? m.buttons.filter(function (b) { return b && b.title; }) : [];
    if (buttons.length) {
      bubble.appendChild(el("ul", { className: "msg-buttons", "aria-label": "Botões enviados" },
        buttons.map(function (b) { return el("li", { text: String(b.title) }); })));
    }
    const attachments = Array.isArray(m.attachments) ? m.attachments : [];
    if (attachments.length) {
      bubble.appendChild(el("ul", { className: "msg-attachments", "aria-label": "Anexos" },
        attachments.map(function (a, i) { return attachmentItem(m.id, a || {}, i); })));
    }
    let author = SENDERS[sender];
    if (sender === "agent" && m.agent_id !== undefined && m.agent_id !== null) {
      author = S.me && m.agent_id === S.me.id ? "Você" : who(m.agent_id);
    }
    const metaParts = [author, label(CHANNELS, m.channel || (conversation() || {}).channel)];
    const meta = el("div", { className: "meta" }, [
      el("span", { text: metaParts.join(" · ") + " · " }),
      el("time", { datetime: m.created_at || null, title: m.created_at ? fmtFull.format(toDate(m.created_at)) : null,
        text: stamp(m.created_at) })
    ]);
    // Delivery receipts are not pushed to the inbox: show what is certain (failed, or confirmed).
    if (m.direction === "out" && MSG_STATUS[m.status] && m.status !== "queued" && m.status !== "sending" &&
        (sender === "agent" || m.status === "failed")) {
      meta.appendChild(el("span", { className: "msg-status msg-status--" + m.status,
        text: " · " + MSG_STATUS[m.status] }));
    }
    const other = m.conversation_id && m.conversation_id !== S.openId;
    const node = el("li", { className: "msg msg--" + sender + (other ? " msg--other" : ""),
      "data-testid": "msg", "data-sender": sender, "data-message-id": m.id }, [bubble, meta]);
    ui.timeline.appendChild(node);
    return node;
  }

  // -- attachments: links to GET /api/messages/<id>/attachments/<n> (audited, served safely) --
  const ATTACHMENT_KINDS = [["image/", "imagem"], ["application/pdf", "PDF"], ["audio/", "áudio"],
    ["video/", "vídeo"]];
  const THUMBNAIL_TYPES = /^image\/(jpeg|png|gif|webp|\*)$/;

  function attachmentKind(type) {
    const found = ATTACHMENT_KINDS.find(function (k) { return type.indexOf(k[0]) === 0; });
    return found ? found[1] : "arquivo";
  }

  function attachmentItem(messageId, a, i) {
    const type = String(a.content_type || "").toLowerCase();
    const name = a.filename ? String(a.filename) : "Anexo " + (i + 1) + " (" + attachmentKind(type) + ")";
    const href = withReason("/api/messages/" + encodeURIComponent(messageId) + "/attachments/" + i, S.openId);
    const image = THUMBNAIL_TYPES.test(type);
    const link = el("a", { className: "attachment", href: href, "data-testid": "attachment",
      target: image ? "_blank" : null, rel: image ? "noopener" : null, download: !image,
      title: "Abrir " + name }, [el("span", {}, [el("span", { "aria-hidden": "true", text: "📎 " }), name])]);
    if (image) {
      const thumb = el("img", { className: "attachment-thumb", src: href, alt: "", loading: "lazy",
        width: "96", height: "96" });
      thumb.addEventListener("error", function () { thumb.remove(); }, { once: true });
      link.insertBefore(thumb, link.firstChild);
    }
    return el("li", {}, [link]);
  }

  function appendNote(data, at) {
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

  function liveNote(note) {
    const at = new Date().toISOString();
    S.liveLog.push({ kind: "note", note: note, at: at });
    appendNote(note, at);
  }

  function eventText(e) {
    const d = e.data || {};
    switch (e.type) {
      case "handoff":
        return "Transferida para a equipe: " + label(HANDOFF_REASONS, d.reason, "motivo não informado") +
          " · fila " + label(QUEUES, d.queue) + (d.priority && d.priority !== "normal" ? " · prioridade " +
          label(PRIORITIES, d.priority).toLowerCase() : "");
      case "assigned":
        return "Assumida por " + who(d.agent_id) + (ASSIGNED_BY[d.by] ? " (" + ASSIGNED_BY[d.by] + ")" : "");
      case "transfer_agent": return "Transferida para " + who(d.agent_id);
      case "transfer_queue":
        return d.reason === "on_call" ? "Encaminhada ao plantão" : "Transferida para a fila " + label(QUEUES, d.queue);
      case "requeued": return "Devolvida à fila: " + label(REQUEUE_REASONS, d.reason, "motivo não informado");
      case "wait_patient": return "Aguardando o paciente";
      case "patient_replied": return "O paciente respondeu";
      case "resolved": return "Resolvida: " + label(OUTCOMES, d.outcome);
      case "reopened": return "Reaberta";
      case "back_to_bot": return "De volta ao assistente virtual";
      case "tagged": return (d.tags && d.tags.length) ? "Etiquetas: " + d.tags.join(", ") : "Etiquetas removidas";
      case "priority_changed":
        return "Prioridade: " + label(PRIORITIES, d.from) + " → " + label(PRIORITIES, d.to);
      case "sla_warning": return "Alerta de SLA (" + label(METRICS, d.metric) + ")";
      case "sla_breach": return "SLA estourado (" + label(METRICS, d.metric) + ")";
      case "escalation": return "Escalonada ao gestor" + (d.level ? " (nível " + d.level + ")" : "");
      case "csat_requested": return "Pesquisa de satisfação enviada";
      case "csat": return "Avaliação do paciente: " + d.score + "/5";
      case "nps_requested": return "Pergunta de recomendação (0 a 10) enviada";
      case "nps": return "Recomendação do paciente: " + d.score + "/10";
      case "delivery_failed":
        return "Mensagem não entregue ao paciente" + (d.error_code ? " (erro " + d.error_code + ")" : "");
      case "delivery_delayed": return "Entrega atrasada pelo servidor de e-mail do paciente";
      case "appointment_booked": return "Consulta agendada pelo assistente virtual";
      default: return "";
    }
  }

  // Live additions: a message or a note arriving while the conversation is open.
  function liveMessage(m) {
    S.liveLog.push({ kind: "msg", m: m });
    const stick = nearBottom() || (m.sender === "agent" && S.me && m.agent_id === S.me.id);
    const node = appendMessage(m);
    if (node && stick) scrollToBottom();
  }

  // ---------------------------------------------------------------- context cards
  function setField(card, name, value) {
    const node = card.querySelector('[data-field="' + name + '"]');
    if (node) node.textContent = value === null || value === undefined || value === "" ? T.noValue : String(value);
    return node;
  }

  function slotValue(v) {
    if (v === null || v === undefined) return T.noValue;
    if (typeof v === "boolean") return v ? "sim" : "não";
    if (Array.isArray(v)) return v.map(slotValue).join(", ");
    if (typeof v === "object") {
      return Object.keys(v).filter(function (k) { return v[k] !== null && v[k] !== undefined; })
        .map(function (k) { return slotLabel(k) + ": " + slotValue(v[k]); }).join("; ");
    }
    return String(v);
  }

  function slotLabel(k) {
    if (SLOT_LABELS[k]) return SLOT_LABELS[k];
    const s = String(k).replace(/_/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function renderContext() {
    const d = S.detail;
    const bc = d.bot_context || {};
    const card = ui.botCard;
    const reason = (conversation() || {}).reason || bc.reason || "other";
    setField(card, "reason", label(REASONS, reason));
    // the correction choices: the seven reasons plus a tag the clinic created (shown as is)
    const choices = Object.keys(REASONS).concat(REASONS[reason] ? [] : [reason]);
    ui.reasonSelect.replaceChildren.apply(ui.reasonSelect, choices.map(function (r) {
      return el("option", { value: r, text: label(REASONS, r) });
    }));
    ui.reasonSelect.value = reason;
    const intent = bc.intent && INTENTS[bc.intent] ? INTENTS[bc.intent] + " (" + bc.intent + ")" : bc.intent;
    setField(card, "intent", intent || null);
    const conf = card.querySelector('[data-field="confidence"]');
    conf.replaceChildren();
    if (typeof bc.confidence === "number") {
      const pct = Math.max(0, Math.min(100, Math.round(bc.confidence * 100)));
      const bar = el("span", { className: "meter", "aria-hidden": "true" }, [el("span")]);
      bar.firstChild.style.width = pct + "%";
      bar.setAttribute("data-level", pct >= 80 ? "high" : pct >= 50 ? "mid" : "low");
      conf.append(el("span", { text: pct + "%" }), bar);
    } else {
      conf.textContent = T.noValue;
    }
    setField(card, "handoff", bc.handoff_reason ? label(HANDOFF_REASONS, bc.handoff_reason) : null);
    const hasNote = !!bc.note;
    setField(card, "note", bc.note);
    card.querySelector('[data-field="note"]').hidden = !hasNote;
    card.querySelector('[data-field="note-label"]').hidden = !hasNote;
    const slots = ui.botCard.querySelector('[data-testid="bot-slots"]');
    const keys = Object.keys(bc.slots || {});
    if (keys.length) {
      const rows = [];
      keys.forEach(function (k) {
        rows.push(el("dt", { text: slotLabel(k) }), el("dd", { text: slotValue(bc.slots[k]) }));
      });
      slots.replaceChildren.apply(slots, rows);
    } else {
      slots.replaceChildren(el("dd", { className: "muted", text: T.nothingCollected }));
    }
    card.hidden = false;

    const p = d.patient || {};
    const pc = ui.patientCard;
    setField(pc, "name", p.name || T.unnamed);
    const phone = setField(pc, "phone", maskPhone(p.phone));
    phone.title = p.phone ? "Número parcialmente oculto" : "";
    setField(pc, "email", maskEmail(p.email));
    const consent = pc.querySelector('[data-field="consent"]');
    if (p.consent && p.consent.at !== undefined) {
      const at = toDate(p.consent.at);
      const when = at ? fmtDate.format(at) + " " + fmtTime.format(at) : "";
      consent.textContent = (p.consent.granted ? "Aceito em " : "Recusado em ") + when +
        (p.consent.version ? " · versão " + p.consent.version : "");
      consent.setAttribute("data-consent", p.consent.granted ? "granted" : "refused");
    } else {
      consent.textContent = T.consentNone;
      consent.setAttribute("data-consent", "none");
    }
    const appts = pc.querySelector('[data-testid="patient-appointments"]');
    const now = Date.now();
    const upcoming = (p.appointments || []).filter(function (a) {
      return (a.status === "scheduled" || a.status === "confirmed") && Date.parse(a.start) >= now;
    }).sort(function (a, b) { return Date.parse(a.start) - Date.parse(b.start); });
    if (upcoming.length) {
      appts.replaceChildren.apply(appts, upcoming.slice(0, 5).map(function (a) {
        const history = el("ul", { className: "mini-list", "data-testid": "appt-reminders",
          "data-appointment": a.id, "aria-label": "Lembretes desta consulta" });
        showReminders(history, a.id);
        return el("li", { "data-appointment": a.id }, [
          el("strong", { text: fmtShort.format(toDate(a.start)) }),
          el("span", { text: [a.specialty_name || a.specialty, a.doctor_name].filter(Boolean).join(" · ") }),
          el("span", { className: "appt-status appt-status--" + a.status, text: label(APPT_STATUS, a.status) }),
          history
        ]);
      }));
    } else {
      appts.replaceChildren(el("li", { className: "muted", text: T.noAppointments }));
    }
    const others = pc.querySelector('[data-testid="patient-conversations"]');
    const list = (p.other_conversations || []).slice().sort(function (a, b) {
      return (Date.parse(b.updated_at) || 0) - (Date.parse(a.updated_at) || 0);
    });
    if (list.length) {
      others.replaceChildren.apply(others, list.slice(0, 8).map(function (c) {
        const b = el("button", { type: "button", className: "link-btn" }, [
          channelTag(c.channel),
          el("span", { text: label(STATES, c.state) + " · " + stamp(c.updated_at) })
        ]);
        b.addEventListener("click", function () { openConversation(c.id); });
        return el("li", {}, [b]);
      }));
    } else {
      others.replaceChildren(el("li", { className: "muted", text: T.noOtherConversations }));
    }
    pc.hidden = false;
  }

  // ---------------------------------------------------------------- reminder history (issue 15)
  // Each upcoming appointment of the patient card lists its reminders (GET /api/reminders?
  // appointment_id=), e.g. "Lembrete 24 h enviado · entregue · lido · confirmou". Cached for a
  // minute: the context is re-rendered on every live event of the conversation.
  const REMINDER_TTL_MS = 60000;
  const REMINDER_STATUS = { scheduled: "agendado", sending: "enviando", sent: "enviado", failed: "falhou",
    skipped_stale: "não enviado (atrasado)", skipped_opt_out: "não enviado (paciente recusou lembretes)",
    skipped_no_contact: "não enviado (sem canal de contato)", skipped_inactive: "não enviado (consulta alterada)" };
  const REMINDER_REPLY = { confirmed: "confirmou", cancelled: "cancelou", reschedule: "pediu para remarcar",
    other: "respondeu" };

  function reminderKind(kind) {
    if (kind === "morning") return "do dia";
    const m = /^(\d+)h$/.exec(String(kind || ""));
    return m ? m[1] + " h" : String(kind || "");
  }

  function reminderLine(r) {
    const parts = ["Lembrete " + reminderKind(r.kind) + " " + (REMINDER_STATUS[r.status] || r.status)];
    if (r.status === "scheduled" && toDate(r.due_at)) parts[0] += " para " + fmtShort.format(toDate(r.due_at));
    const read = r.delivery === "read" || !!r.read_at;
    if (read || r.delivery === "delivered" || r.delivered_at) parts.push("entregue");
    if (read) parts.push("lido");
    if (r.delivery === "failed" || r.delivery === "undelivered") parts.push("não entregue");
    if (r.reply) parts.push(REMINDER_REPLY[r.reply] || r.reply);
    return parts.join(" · ");
  }

  async function showReminders(list, appointmentId) {
    S.reminderCache = S.reminderCache || {};
    let hit = S.reminderCache[appointmentId];
    if (!hit || Date.now() - hit.at > REMINDER_TTL_MS) {
      try {
        const path = "/api/reminders?appointment_id=" + encodeURIComponent(appointmentId);
        const data = await api("GET", S.openId ? withReason(path, S.openId) : path);
        hit = { at: Date.now(), items: (data && data.reminders) || [] };
        S.reminderCache[appointmentId] = hit;
      } catch (e) {
        return; // not allowed or unavailable: the card simply shows no history
      }
    }
    list.replaceChildren.apply(list, hit.items.map(function (r) {
      return el("li", { className: "muted", "data-testid": "appt-reminder", "data-status": r.status,
        text: reminderLine(r) });
    }));
  }

  // ---------------------------------------------------------------- composer
  function noteMode() { return ui.noteToggle.checked; }

  function updateComposerMode() {
    const c = conversation();
    const note = noteMode();
    ui.composer.setAttribute("data-mode", note ? "note" : "reply");
    ui.input.placeholder = note ? T.notePlaceholder : T.replyPlaceholder;
    let canReply = false;
    let banner = "";
    if (c) {
      if (c.state === "queued") {
        canReply = true;
        banner = "Esta conversa está na fila. Assuma para responder ao paciente.";
      } else if (c.state === "assigned" || c.state === "waiting_patient") {
        canReply = holdsIt(c);
        if (!canReply) {
          banner = "Esta conversa está com " + who(c.assigned_agent_id) + ". Você pode deixar notas internas.";
        }
        else if (c.state === "waiting_patient") banner = "Aguardando o paciente: o SLA está pausado até ele responder.";
      } else if (c.state === "resolved") {
        banner = "Conversa resolvida" + (c.outcome ? " (" + label(OUTCOMES, c.outcome) + ")" : "") +
          ". Reabra para responder.";
      } else if (c.state === "bot") {
        banner = "O assistente virtual está atendendo esta conversa.";
      }
    }
    // WhatsApp's 24-hour window (Instagram/Messenger: 7 days for attendants): past it, free text
    // cannot reach the patient; on WhatsApp an approved template still can.
    const win = c && c.window;
    let picker = false;
    if (win && !win.open && canReply) {
      canReply = false;
      picker = !!win.requires_template;
      banner = picker ? T.windowClosed : T.windowExpired;
    }
    ui.banner.textContent = banner;
    ui.banner.hidden = !banner;
    showTemplatePicker(picker && !note);
    const enabled = !!c && (note || canReply) && !S.busy;
    ui.send.disabled = !enabled;
    ui.input.disabled = !c || (!note && !canReply);
    ui.send.textContent = note ? T.saveNote : c && c.state === "queued" ? T.claimAndSend : T.send;
    $all("button", ui.quick).forEach(function (b) { b.disabled = note || !canReply; });
    updateCounter();
  }

  // ---------------------------------------------------------------- WhatsApp templates
  const TEMPLATE_SENT = function (name) { return "Modelo “" + name + "” enviado."; };

  function channelTemplates(c) {
    const key = c && c.channel === "whatsapp" ? "twilio_content_sid" : "meta_name";
    return (S.templates || []).filter(function (t) { return !!t[key]; });
  }

  function selectedTemplate() {
    const id = ui.templateSelect.value;
    return (S.templates || []).find(function (t) { return t.id === id; }) || null;
  }

  async function loadTemplates() {
    if (S.templates !== null) return;
    S.templates = [];
    try {
      S.templates = await api("GET", "/api/templates");
    } catch (e) {
      S.templates = null; // try again next time
      if (e.status !== 401) toast(e.message, "error");
      return;
    }
    ui.templatePicker.removeAttribute("data-conv");
    updateComposerMode();
  }

  function showTemplatePicker(show) {
    ui.templatePicker.hidden = !show;
    ui.templateSend.disabled = S.busy || !selectedTemplate();
    if (!show) return;
    if (S.templates === null) {
      loadTemplates();
      return;
    }
    if (ui.templatePicker.getAttribute("data-conv") === S.openId) return; // keep what the attendant typed
    ui.templatePicker.setAttribute("data-conv", S.openId);
    const list = channelTemplates(conversation());
    ui.templateSelect.replaceChildren.apply(ui.templateSelect, list.map(function (t) {
      return el("option", { value: t.id, text: t.name });
    }));
    renderTemplateVars();
  }

  function renderTemplateVars() {
    const t = selectedTemplate();
    const patient = S.detail && S.detail.patient ? firstName(S.detail.patient.name) : "";
    ui.templateVars.replaceChildren.apply(ui.templateVars, (t ? t.variables : []).map(function (name, i) {
      const input = el("input", { type: "text", maxlength: "1024", required: true, "data-testid": "template-var",
        id: "template-var-" + i, value: name === "nome" ? patient : null });
      input.addEventListener("input", renderTemplatePreview);
      return el("label", { className: "template-var", for: "template-var-" + i }, [name, input]);
    }));
    renderTemplatePreview();
  }

  function templateValues() {
    return $all("input", ui.templateVars).map(function (input) { return input.value.trim(); });
  }

  function renderTemplatePreview() {
    const t = selectedTemplate();
    const values = templateValues();
    ui.templatePreview.textContent = t ? t.body.replace(/\{\{(\d+)\}\}/g, function (m, n) {
      return values[n - 1] || m;
    }) : T.noTemplates;
    ui.templateSend.disabled = S.busy || !t;
  }

  async function submitTemplate() {
    const id = S.openId;
    const c = conversation();
    const t = selectedTemplate();
    if (!id || !c || !t || S.busy) return;
    const variables = templateValues();
    if (variables.some(function (v) { return !v; })) {
      toast(ERRORS.invalid_variables, "error");
      return;
    }
    S.busy = true;
    updateComposerMode();
    try {
      if (c.state === "queued") {
        actedOn(id);
        applyConversation(await api("POST", convPath(id, "claim")));
        refreshLists(0);
      }
      const res = await api("POST", convPath(id, "template"), { template_id: t.id, variables: variables });
      actedOn(id);
      if (res && res.message) liveMessage(Object.assign({ conversation_id: id }, res.message));
      scrollToBottom();
      applyConversation(res && res.conversation);
      ui.templatePicker.removeAttribute("data-conv"); // fresh variables for the next one
      toast(TEMPLATE_SENT(t.name), "ok"); // the picker resets: say what went out
      announce(TEMPLATE_SENT(t.name));
    } catch (e) {
      if (e.status !== 401) toast(e.message, "error");
      if (e.status === 409) refreshDetail();
    } finally {
      S.busy = false;
      updateComposerMode();
    }
  }

  ui.templateSelect.addEventListener("change", renderTemplateVars);
  ui.templatePicker.addEventListener("submit", function (e) {
    e.preventDefault();
    submitTemplate();
  });

  function updateCounter() {
    const n = ui.input.value.length;
    ui.hint.textContent = n >= COUNTER_FROM ? T.counter(n) : "";
    ui.hint.classList.toggle("over", n > MAX_TEXT);
  }

  function fillPlaceholders(text) {
    const patient = S.detail && S.detail.patient ? firstName(S.detail.patient.name) : "";
    return text
      .replace(/\{nome\}/g, firstName(S.me && S.me.name) || "a equipe")
      .replace(patient ? /\{paciente\}/g : /,?\s*\{paciente\}/g, patient)
      .replace(/\{clinica\}/g, CONFIG.clinic || "clínica");
  }

  function renderQuickReplies() {
    ui.quick.replaceChildren.apply(ui.quick, CONFIG.quickReplies.map(function (q) {
      const b = el("button", { type: "button", className: "chip", "data-testid": "quick-reply", title: q.text,
        text: q.title });
      b.addEventListener("click", function () {
        const text = fillPlaceholders(q.text);
        const cur = ui.input.value;
        ui.input.value = cur.trim() ? cur.replace(/\s*$/, " ") + text : text;
        ui.input.focus();
        ui.input.setSelectionRange(ui.input.value.length, ui.input.value.length);
        updateCounter();
      });
      return b;
    }));
    ui.quick.hidden = CONFIG.quickReplies.length === 0;
  }

  async function submitComposer() {
    const id = S.openId;
    const c = conversation();
    const text = ui.input.value.trim();
    if (!id || !c || !text || S.busy) return;
    if (text.length > MAX_TEXT) {
      toast(T.tooLong, "error");
      return;
    }
    S.busy = true;
    updateComposerMode();
    try {
      if (noteMode()) {
        // Registered before the request: the socket's echo may arrive before the response.
        const echo = { text: text, until: Date.now() + 30000 };
        S.noteEchoes.push(echo);
        let res;
        try {
          res = await api("POST", convPath(id, "notes"), { text: text });
        } catch (e) {
          S.noteEchoes = S.noteEchoes.filter(function (n) { return n !== echo; });
          throw e;
        }
        actedOn(id);
        liveNote(res.note || { text: text, agent_id: S.me && S.me.id });
        scrollToBottom();
        applyConversation(res.conversation);
      } else {
        if (c.state === "queued") {
          actedOn(id);
          applyConversation(await api("POST", convPath(id, "claim")));
          refreshLists(0);
        }
        const res = await api("POST", convPath(id, "reply"), { text: text });
        actedOn(id);
        if (res && res.message) liveMessage(Object.assign({ conversation_id: id }, res.message));
        scrollToBottom();
        applyConversation(res && res.conversation);
      }
      ui.input.value = "";
      S.drafts[id] = "";
    } catch (e) {
      if (e.status !== 401) toast(e.message, "error");
      if (e.status === 409) refreshDetail();
    } finally {
      S.busy = false;
      updateComposerMode();
      ui.input.focus();
    }
  }

  ui.composer.addEventListener("submit", function (e) {
    e.preventDefault();
    submitComposer();
  });
  ui.input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey && !e.isComposing) {
      e.preventDefault();
      submitComposer();
    }
  });
  ui.input.addEventListener("input", updateCounter);
  ui.noteToggle.addEventListener("change", function () {
    updateComposerMode();
    ui.input.focus();
  });

  // ---------------------------------------------------------------- actions
  async function act(action, body, okText) {
    const id = S.openId;
    if (!id) return null;
    actedOn(id);
    try {
      const view = await api("POST", convPath(id, action), body);
      applyConversation(view);
      refreshLists(0);
      refreshDetail();
      if (okText) announce(okText);
      return view;
    } catch (e) {
      if (e.status !== 401) toast(e.message, "error");
      if (e.status === 409) refreshDetail();
      return null;
    }
  }

  ui.actions.addEventListener("click", function (e) {
    const b = e.target.closest("button[data-action]");
    if (!b) return;
    const action = b.getAttribute("data-action");
    if (action === "claim") act("claim", undefined, "Conversa assumida");
    else if (action === "wait") act("wait", undefined, "Aguardando o paciente");
    else if (action === "reopen") act("reopen", undefined, "Conversa reaberta");
    else if (action === "transfer") openTransfer();
    else if (action === "resolve") openResolve();
    else if (action === "context") toggleContext();
  });
  $(".back").addEventListener("click", function () {
    ui.app.setAttribute("data-view", "list");
    const current = S.openId &&
      ui.app.querySelector('.conv-item[data-conversation-id="' + CSS.escape(S.openId) + '"] button');
    if (current) current.focus();
  });
  $(".ctx-close").addEventListener("click", function () { toggleContext(false); });

  function toggleContext(force) {
    const open = force === undefined ? ui.app.getAttribute("data-ctx") !== "open" : force;
    ui.app.setAttribute("data-ctx", open ? "open" : "closed");
    $('[data-action="context"]').setAttribute("aria-expanded", open ? "true" : "false");
    if (open) $(".ctx-close").focus();
  }

  function dialogError(dialog, text) {
    const p = $(".dialog-error", dialog);
    p.textContent = text || "";
    p.hidden = !text;
  }

  function openResolve() {
    const d = ui.resolveDialog;
    dialogError(d, "");
    $('input[value="resolved"]', d).checked = true;
    d.showModal();
    $('input[value="resolved"]', d).focus();
  }

  async function openTransfer() {
    const d = ui.transferDialog;
    const c = conversation();
    dialogError(d, "");
    const queueSelect = $('[data-testid="transfer-queue"]', d);
    const names = Object.keys(QUEUES);
    ((S.me && S.me.queues) || []).forEach(function (q) { if (names.indexOf(q) < 0) names.push(q); });
    queueSelect.replaceChildren.apply(queueSelect, names.map(function (q) {
      return el("option", { value: q, text: label(QUEUES, q) + (c && c.queue === q ? " (atual)" : "") });
    }));
    const other = names.find(function (q) { return !c || q !== c.queue; });
    if (other) queueSelect.value = other;
    $('input[value="queue"]', d).checked = true;
    syncTransferTarget();
    d.showModal();
    queueSelect.focus();
    if (isSupervisor()) S.agents = null; // fresh presence and occupancy
    await loadAgents();
    const agentOption = $("[data-agent-option]", d);
    const agentSelect = $('[data-testid="transfer-agent"]', d);
    const candidates = Array.isArray(S.agents) ? S.agents.filter(function (a) {
      return a.active !== false && a.role === "attendant" && (!c || a.id !== c.assigned_agent_id);
    }) : [];
    agentOption.hidden = candidates.length === 0;
    candidates.sort(function (a, b) {
      return (a.presence === "online" ? 0 : 1) - (b.presence === "online" ? 0 : 1) || (a.open || 0) - (b.open || 0);
    });
    const options = candidates.map(function (a) {
      const load = typeof a.open === "number" ? " · " + a.open + "/" + a.max_concurrent : "";
      return el("option", { value: String(a.id), disabled: a.presence !== "online" ? true : null,
        text: a.name + " (" + (a.presence === "online" ? "online" : a.presence === "away" ? "ausente" : "offline") +
          load + ")" });
    });
    if (!candidates.some(function (a) { return a.presence === "online"; })) {
      options.unshift(el("option", { value: "", text: "Nenhum atendente online no momento" }));
    }
    agentSelect.replaceChildren.apply(agentSelect, options);
    agentSelect.value = options.length && !options[0].disabled ? options[0].value : "";
  }

  async function loadAgents() {
    if (S.agents !== null || !isSupervisor()) { // GET /api/agents is for managers/admins only
      if (!isSupervisor()) S.agents = false;
      return;
    }
    try {
      S.agents = await api("GET", "/api/agents");
    } catch (e) {
      S.agents = false;
    }
  }

  function syncTransferTarget() {
    const d = ui.transferDialog;
    const target = ($('input[name="target"]:checked', d) || {}).value || "queue";
    $('[data-for="queue"]', d).hidden = target !== "queue";
    $('[data-for="agent"]', d).hidden = target !== "agent";
  }

  $all('input[name="target"]', ui.transferDialog).forEach(function (r) {
    r.addEventListener("change", syncTransferTarget);
  });

  [ui.transferDialog, ui.resolveDialog].forEach(function (d) {
    $all("[data-close]", d).forEach(function (b) { b.addEventListener("click", function () { d.close(); }); });
  });

  $('[data-form="transfer"]').addEventListener("submit", async function (e) {
    e.preventDefault();
    const d = ui.transferDialog;
    const target = ($('input[name="target"]:checked', d) || {}).value;
    let body;
    if (target === "agent") {
      const v = $('[data-testid="transfer-agent"]', d).value;
      if (!v) { dialogError(d, "Escolha um atendente."); return; }
      body = { agent_id: Number(v) };
    } else {
      body = { queue: $('[data-testid="transfer-queue"]', d).value };
    }
    const view = await act("transfer", body, "Conversa transferida");
    if (view) d.close();
    else dialogError(d, "Não foi possível transferir. Veja o aviso na tela.");
  });

  $('[data-form="resolve"]').addEventListener("submit", async function (e) {
    e.preventDefault();
    const d = ui.resolveDialog;
    const outcome = ($('input[name="outcome"]:checked', d) || {}).value || "resolved";
    const view = await act("resolve", { outcome: outcome }, "Conversa resolvida: " + label(OUTCOMES, outcome));
    if (view) d.close();
    else dialogError(d, "Não foi possível resolver. Veja o aviso na tela.");
  });

  // ---------------------------------------------------------------- presence, me, logout
  function applyMe(me) {
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

  function setPresence(status) {
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
  function setLive(state) {
    ui.live.setAttribute("data-state", state);
    ui.live.textContent = T.live[state] || "";
    const presence = state === "online" ? ((S.me && S.me.presence) || "online") : "offline";
    ui.presenceWrap.setAttribute("data-presence", presence);
  }

  function connect() {
    clearTimeout(S.reconnectTimer);
    S.reconnectTimer = null;
    if (S.ws) return;
    setLive(S.attempts ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/staff/ws");
    } catch (e) {
      scheduleReconnect();
      return;
    }
    S.ws = ws;
    ws.onmessage = function (ev) {
      if (S.ws !== ws || typeof ev.data !== "string") return;
      let frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (frame && typeof frame === "object") onFrame(frame);
    };
    ws.onclose = function (ev) {
      if (S.ws !== ws) return;
      S.ws = null;
      S.wsReady = false;
      clearInterval(S.pingTimer);
      if (ev.code === 4401) { toLogin(); return; }
      if (ev.code === 4403) { // refused (origin): keep working by polling
        setLive("error");
        scheduleListPolling();
        return;
      }
      scheduleReconnect();
    };
  }

  // Exponential backoff with "equal jitter": a random delay in [cap/2, cap].
  function scheduleReconnect() {
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, S.attempts));
    S.attempts += 1;
    setLive(navigator.onLine === false ? "offline" : "reconnecting");
    clearTimeout(S.reconnectTimer);
    S.reconnectTimer = setTimeout(connect, cap / 2 + Math.random() * cap / 2);
    scheduleListPolling();
  }

  function reconnectNow() {
    if (!S.ws) {
      S.attempts = Math.min(S.attempts, 1);
      connect();
    }
  }

  function onHello(frame) {
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

  function isOpen(frame) { return !!frame.conversation_id && frame.conversation_id === S.openId; }

  function onFrame(frame) {
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

  function onPatientMessage(frame) {
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

  function onNote(frame) {
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
})();
