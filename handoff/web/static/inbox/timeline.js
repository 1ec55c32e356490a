// atende inbox (/inbox): timeline — see /inbox/inbox.js.
import { el } from "../lib/dom.js";
import { dayOf, stamp, toDate } from "../lib/format.js";
import { conversation, who } from "./conversation.js";
import { withReason } from "./http.js";
import { appendNote } from "./notes.js";
import { S, ui } from "./state.js";
import { dayLabel, fmtFull, label } from "./util.js";
import {
  ASSIGNED_BY, CHANNELS, HANDOFF_REASONS, METRICS, MSG_STATUS, OUTCOMES, PRIORITIES, QUEUES,
  REQUEUE_REASONS, SENDERS, T
} from "./vocab.js";

// ---------------------------------------------------------------- timeline
export function nearBottom() {
  const s = ui.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
}

export function scrollToBottom() {
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

export function timelineItems(detail) {
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

export function renderTimeline() {
  S.msgIds = new Set();
  S.lastDay = null;
  S.lastConv = null;
  ui.timeline.setAttribute("aria-busy", "true"); // do not read the whole history aloud
  ui.timeline.replaceChildren();
  timelineItems(S.detail).forEach(appendItem);
  ui.timeline.removeAttribute("aria-busy");
}

export function separators(at, convId) {
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

export function appendItem(item) {
  if (item.kind === "msg") return appendMessage(item.m);
  if (item.kind === "note") return appendNote(item.e.data || {}, item.e.created_at);
  separators(item.e.created_at, S.openId);
  ui.timeline.appendChild(el("li", { className: "event", "data-testid": "event", "data-type": item.e.type }, [
    el("span", { text: eventText(item.e) }),
    el("time", { datetime: item.e.created_at || null, text: stamp(item.e.created_at) })
  ]));
  return null;
}

export function appendMessage(m) {
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
export const ATTACHMENT_KINDS = [["image/", "imagem"], ["application/pdf", "PDF"], ["audio/", "áudio"],
  ["video/", "vídeo"]];
export const THUMBNAIL_TYPES = /^image\/(jpeg|png|gif|webp|\*)$/;

export function attachmentKind(type) {
  const found = ATTACHMENT_KINDS.find(function (k) { return type.indexOf(k[0]) === 0; });
  return found ? found[1] : "arquivo";
}

export function attachmentItem(messageId, a, i) {
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


export function eventText(e) {
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
export function liveMessage(m) {
  S.liveLog.push({ kind: "msg", m: m });
  const stick = nearBottom() || (m.sender === "agent" && S.me && m.agent_id === S.me.id);
  const node = appendMessage(m);
  if (node && stick) scrollToBottom();
}
