// atende inbox (/inbox): queue — see /inbox/inbox.js.
import { $, $all, el } from "../lib/dom.js";
import { elapsed as duration, stamp, toDate } from "../lib/format.js";
import { openConversation, refreshDetail } from "./conversation.js";
import { api } from "./http.js";
import { announce, notify, suppressed, updateBadges } from "./notify.js";
import { LIST_REFRESH_MS, LIST_REFRESH_OFFLINE_MS, S, ui } from "./state.js";
import { icon, label } from "./util.js";
import { CHANNELS, METRICS, PRIORITIES, QUEUES, REASONS, SLA_STATES, STATES, T } from "./vocab.js";

// ---------------------------------------------------------------- lists
export function slaOf(item) {
  const sla = item.sla || null;
  if (!sla) return { state: "none", text: "" };
  let state = sla.state || "ok";
  const deadline = toDate(sla.deadline);
  if (deadline && deadline.getTime() <= Date.now()) state = "breached";
  let text = label(SLA_STATES, state) + " · " + label(METRICS, sla.metric);
  if (deadline) text += (deadline.getTime() <= Date.now() ? " · venceu " : " · vence ") + stamp(sla.deadline);
  return { state: state, text: text, deadline: sla.deadline || "" };
}

export function channelTag(channel) {
  return el("span", { className: "channel", title: "Canal: " + label(CHANNELS, channel) },
    [icon(channel, 14), el("span", { text: label(CHANNELS, channel) })]);
}

export function queueItem(q) {
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

export function mineItem(c) {
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

export function renderLists() {
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

export async function loadLists() {
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

export function setLoadError(on) {
  ui.app.toggleAttribute("data-load-error", on);
}

export function refreshLists(delay) {
  clearTimeout(S.listsDebounce);
  S.listsDebounce = setTimeout(loadLists, delay === undefined ? 250 : delay);
}

export function scheduleListPolling() {
  clearTimeout(S.listTimer);
  S.listTimer = setTimeout(function () {
    // Without the socket nothing else tells us about the open conversation: reload it too.
    if (!S.wsReady && S.openId && !document.hidden) refreshDetail();
    loadLists().finally(scheduleListPolling);
  }, S.wsReady ? LIST_REFRESH_MS : LIST_REFRESH_OFFLINE_MS);
}

// Waiting times tick every second; an SLA deadline that passes turns the item red.
export function tick() {
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
export function selectTab(name, focus) {
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
