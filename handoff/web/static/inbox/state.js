// atende inbox (/inbox): state — see /inbox/inbox.js.
import { $, $all } from "../lib/dom.js";

// ---------------------------------------------------------------- configuration
export const LIST_REFRESH_MS = 30000;
export const LIST_REFRESH_OFFLINE_MS = 10000;
export const PING_MS = 25000;
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30000;
export const MAX_TEXT = 4000;
export const COUNTER_FROM = 3500;
export const TAG_RE = /^[\p{L}\p{N}_][\p{L}\p{N}_ -]{0,31}$/u;
export const SUPERVISORS = { manager: 1, admin: 1 };
export const BASE_TITLE = document.title;

export const CONFIG = readConfig();

// ---------------------------------------------------------------- small helpers
export function readConfig() {
  const node = document.getElementById("inbox-config");
  let cfg;
  try { cfg = JSON.parse(node ? node.textContent : "{}") || {}; } catch (e) { cfg = {}; }
  const replies = Array.isArray(cfg.quick_replies) ? cfg.quick_replies.filter(function (q) {
    return q && typeof q.title === "string" && typeof q.text === "string" && q.title.trim() && q.text.trim();
  }) : [];
  return { clinic: typeof cfg.clinic === "string" ? cfg.clinic : "", quickReplies: replies.slice(0, 12) };
}

// ---------------------------------------------------------------- state
export const S = {
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

export const ui = {
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
