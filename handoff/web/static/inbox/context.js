// atende inbox (/inbox): context — see /inbox/inbox.js.
import { el } from "../lib/dom.js";
import { fmtDate, fmtTime, stamp, toDate } from "../lib/format.js";
import { conversation, openConversation } from "./conversation.js";
import { api, withReason } from "./http.js";
import { channelTag } from "./queue.js";
import { S, ui } from "./state.js";
import { fmtShort, label, maskEmail, maskPhone } from "./util.js";
import { APPT_STATUS, HANDOFF_REASONS, INTENTS, REASONS, SLOT_LABELS, STATES, T } from "./vocab.js";

// ---------------------------------------------------------------- context cards
export function setField(card, name, value) {
  const node = card.querySelector('[data-field="' + name + '"]');
  if (node) node.textContent = value === null || value === undefined || value === "" ? T.noValue : String(value);
  return node;
}

export function slotValue(v) {
  if (v === null || v === undefined) return T.noValue;
  if (typeof v === "boolean") return v ? "sim" : "não";
  if (Array.isArray(v)) return v.map(slotValue).join(", ");
  if (typeof v === "object") {
    return Object.keys(v).filter(function (k) { return v[k] !== null && v[k] !== undefined; })
      .map(function (k) { return slotLabel(k) + ": " + slotValue(v[k]); }).join("; ");
  }
  return String(v);
}

export function slotLabel(k) {
  if (SLOT_LABELS[k]) return SLOT_LABELS[k];
  const s = String(k).replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function renderContext() {
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
export const REMINDER_TTL_MS = 60000;
export const REMINDER_STATUS = { scheduled: "agendado", sending: "enviando", sent: "enviado", failed: "falhou",
  skipped_stale: "não enviado (atrasado)", skipped_opt_out: "não enviado (paciente recusou lembretes)",
  skipped_no_contact: "não enviado (sem canal de contato)", skipped_inactive: "não enviado (consulta alterada)" };
export const REMINDER_REPLY = { confirmed: "confirmou", cancelled: "cancelou", reschedule: "pediu para remarcar",
  other: "respondeu" };

export function reminderKind(kind) {
  if (kind === "morning") return "do dia";
  const m = /^(\d+)h$/.exec(String(kind || ""));
  return m ? m[1] + " h" : String(kind || "");
}

export function reminderLine(r) {
  const parts = ["Lembrete " + reminderKind(r.kind) + " " + (REMINDER_STATUS[r.status] || r.status)];
  if (r.status === "scheduled" && toDate(r.due_at)) parts[0] += " para " + fmtShort.format(toDate(r.due_at));
  const read = r.delivery === "read" || !!r.read_at;
  if (read || r.delivery === "delivered" || r.delivered_at) parts.push("entregue");
  if (read) parts.push("lido");
  if (r.delivery === "failed" || r.delivery === "undelivered") parts.push("não entregue");
  if (r.reply) parts.push(REMINDER_REPLY[r.reply] || r.reply);
  return parts.join(" · ");
}

export async function showReminders(list, appointmentId) {
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
