/* Manager dashboard (pt-BR). Data: GET /api/metrics; live: staff WebSocket /api/staff/ws,
 * polling every 15 s when the socket is unavailable. Charts are hand-drawn SVG (no libraries,
 * no external resources). Formulas: docs/metrics.md, "Dashboard figures".
 * ES module: DOM, formatting and socket helpers from /static/lib/. */
import { toLogin } from "/static/lib/api.js";
import { $, el, svg } from "/static/lib/dom.js";
import { isoDay, num, pct, seconds as duration } from "/static/lib/format.js";
import { CLOSE_UNAUTHORIZED, openStaffSocket } from "/static/lib/ws.js";

const POLL_MS = 15000;
const MIN_REFRESH_MS = 4000;
const DEBOUNCE_MS = 1200;
const LIVE_TYPES = new Set(["handoff", "assigned", "queue_changed", "presence", "message", "patient_message",
  "sla_warning", "sla_breach", "escalation", "resolved"]);
const WEEKDAYS = ["seg", "ter", "qua", "qui", "sex", "sáb", "dom"];

const state = { from: null, to: null, staffing: {}, data: null, loading: false, again: false, lastLoad: 0 };

// -- formatting (pt-BR) -------------------------------------------------------------------
function plural(n, one, many) { return `${num(n)} ${n === 1 ? one : many}`; }

// -- DOM helpers ----------------------------------------------------------------------------
function titled(node, text) { node.append(svg("title", { text })); return node; }

// -- cards ----------------------------------------------------------------------------------
function card(id, label, value, detail) {
  return el("div", { class: "card", "data-testid": `kpi-${id}` }, [
    el("div", { class: "card-label", text: label }),
    el("div", { class: "card-value", "data-testid": `kpi-${id}-value`, text: value }),
    el("div", { class: "card-detail", "data-testid": `kpi-${id}-detail`, text: detail || "" }),
  ]);
}

function renderCards(d) {
  const now = d.now;
  const queues = now.by_queue.map((q) => `${q.queue} ${q.waiting}`).join(" · ");
  $('[data-group="now"]').replaceChildren(
    card("queue", "Na fila agora", num(now.queue_length), queues || "fila vazia"),
    card("longest-wait", "Maior espera na fila", duration(now.longest_wait_seconds),
      now.oldest_waiting_since ? "desde " + new Date(now.oldest_waiting_since).toLocaleTimeString("pt-BR",
        { timeZone: d.range.timezone, hour: "2-digit", minute: "2-digit" }) : "ninguém esperando"),
    card("agents", "Atendentes online", num(now.agents_online),
      `${plural(now.agents_away, "ausente", "ausentes")} · capacidade ${num(now.capacity_online)}`),
    card("occupancy", "Ocupação agora", pct(now.occupancy),
      `${num(now.open_conversations_online)} de ${num(now.capacity_online)} vagas em uso`),
  );
  const h = d.handoffs;
  const sla = d.sla;
  $('[data-group="human"]').replaceChildren(
    card("handoffs", "Transferências para humanos", num(h.episodes),
      `${plural(h.closed, "encerrada", "encerradas")} · ${plural(h.open, "em aberto", "em aberto")}`),
    card("tmr", "TMR — 1ª resposta (média)", duration(d.tmr.mean_seconds),
      `mediana ${duration(d.tmr.median_seconds)} · p90 ${duration(d.tmr.p90_seconds)} · ` +
      plural(d.tmr.count, "resposta", "respostas")),
    card("asa", "Espera até atribuição (ASA)", duration(d.asa.mean_seconds),
      plural(d.asa.count, "atribuição", "atribuições")),
    card("aht", "Tempo de atendimento (AHT)", duration(d.aht.mean_seconds),
      plural(d.aht.count, "atendimento", "atendimentos")),
    card("resolution", "Taxa de resolução", pct(d.resolution_rate),
      `${num(h.resolved)} de ${num(h.episodes)} resolvidos ou agendados`),
    card("fcr", "Resolução no 1º contato (FCR)", pct(d.fcr.rate),
      `${num(d.fcr.first_contact)} de ${num(d.fcr.eligible)} sem retorno em 7 dias` +
      (d.fcr.pending ? ` · ${num(d.fcr.pending)} ainda na janela` : "")),
    card("sla", "Cumprimento de SLA", pct(sla.compliance),
      `1ª resposta ${pct(sla.first_response.compliance)} · resolução ${pct(sla.resolution.compliance)}`),
  );
  const perDay = d.range.days ? d.containment.contacts / d.range.days : null;
  $('[data-group="bot"]').replaceChildren(
    card("contacts", "Contatos", num(d.containment.contacts), `${num(perDay, 1)} por dia`),
    card("containment", "Contenção do bot", pct(d.containment.rate),
      `${num(d.containment.contained)} de ${num(d.containment.contacts)} sem atendente`),
    card("conversion", "Conversão em agendamento", pct(d.conversion.rate),
      `${num(d.conversion.converted)} de ${num(d.conversion.booking_contacts)} pedidos de agendamento`),
    card("csat", "CSAT (1 a 5)", num(d.csat.mean, 2),
      `${pct(d.csat.satisfied_rate)} satisfeitos (4–5) · ${plural(d.csat.responses, "resposta", "respostas")}`),
    card("nps", "NPS", d.csat.nps === null ? "—" : num(d.csat.nps, 0),
      d.csat.nps_responses ? plural(d.csat.nps_responses, "resposta", "respostas") : "sem respostas de NPS"),
  );
}

// -- charts ---------------------------------------------------------------------------------
function niceMax(value) {
  if (!value || value <= 0) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(value)));
  for (const m of [1, 2, 2.5, 5, 10]) if (value <= m * exp) return m * exp;
  return 10 * exp;
}

function renderReasons(d) {
  const rows = d.reasons;
  const width = 560, labelW = 130, valueW = 48, rowH = 38, top = 8;
  const max = niceMax(Math.max(1, ...rows.map((r) => r.contacts), ...rows.map((r) => r.handoffs)));
  const plotW = width - labelW - valueW;
  const root = svg("svg", { viewBox: `0 0 ${width} ${top * 2 + rows.length * rowH}`, role: "img",
    "aria-label": "Contatos por motivo", class: "svg-chart" });
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    root.append(svg("text", { x: labelW - 8, y: y + 20, "text-anchor": "end", class: "axis-label", text: r.label }));
    const wc = (r.contacts / max) * plotW, wh = (r.handoffs / max) * plotW;
    root.append(titled(svg("rect", { x: labelW, y: y + 4, width: Math.max(wc, 0.5), height: 14, class: "bar c1",
      "data-reason": r.reason, "data-series": "contacts", "data-value": r.contacts }), `${r.label}: ${r.contacts} contatos`));
    root.append(titled(svg("rect", { x: labelW, y: y + 19, width: Math.max(wh, 0.5), height: 10, class: "bar c2",
      "data-reason": r.reason, "data-series": "handoffs", "data-value": r.handoffs }),
    `${r.label}: ${r.handoffs} transferências`));
    root.append(svg("text", { x: labelW + wc + 6, y: y + 16, class: "bar-value", text: num(r.contacts) }));
    root.append(svg("text", { x: labelW + wh + 6, y: y + 29, class: "bar-value small", text: num(r.handoffs) }));
  });
  $('[data-testid="chart-reasons"] .chart-body').replaceChildren(root);
}

function renderHourly(d) {
  const width = 560, height = 240, left = 44, right = 12, top = 12, bottom = 30;
  const plotW = width - left - right, plotH = height - top - bottom;
  const series = [
    { key: "contacts_per_day", raw: "contacts", cls: "c1", name: "contatos" },
    { key: "handoffs_per_day", raw: "handoffs", cls: "c2", name: "transferências" },
  ];
  const max = niceMax(Math.max(0, ...d.hourly.map((h) => Math.max(h.contacts_per_day, h.handoffs_per_day))));
  const x = (hour) => left + (hour / 23) * plotW;
  const y = (v) => top + plotH - (v / max) * plotH;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "svg-chart",
    "aria-label": "Volume por hora do dia" });
  for (const frac of [0, 0.5, 1]) {
    const v = max * frac;
    root.append(svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "grid" }));
    root.append(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "axis-label",
      text: num(v, max < 1 ? 2 : max < 10 ? 1 : 0) }));
  }
  for (let hour = 0; hour < 24; hour += 3) {
    root.append(svg("text", { x: x(hour), y: height - 10, "text-anchor": "middle", class: "axis-label",
      text: `${String(hour).padStart(2, "0")}h` }));
  }
  for (const s of series) {
    const points = d.hourly.map((h) => `${x(h.hour).toFixed(1)},${y(h[s.key]).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { points, class: `line ${s.cls}`, "data-series": s.raw }));
    for (const h of d.hourly) {
      root.append(titled(svg("circle", { cx: x(h.hour), cy: y(h[s.key]), r: 3, class: `dot ${s.cls}`,
        "data-series": s.raw, "data-hour": h.hour, "data-value": h[s.raw] }),
      `${String(h.hour).padStart(2, "0")}h: ${num(h[s.key], 2)} ${s.name} por dia (${h[s.raw]} no período)`));
    }
  }
  $('[data-testid="chart-hourly"] .chart-body').replaceChildren(root);
}

function renderHeatmap(d) {
  const cell = 22, gap = 2, left = 40, top = 22;
  const grid = d.heatmap.contacts;
  const max = Math.max(0, ...grid.flat());
  const width = left + 24 * (cell + gap), height = top + 7 * (cell + gap) + 4;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "svg-chart heatmap",
    "aria-label": "Mapa de calor de contatos por dia da semana e hora" });
  for (let hour = 0; hour < 24; hour += 2) {
    root.append(svg("text", { x: left + hour * (cell + gap) + cell / 2, y: 14, "text-anchor": "middle",
      class: "axis-label", text: String(hour).padStart(2, "0") }));
  }
  grid.forEach((row, wd) => {
    const yy = top + wd * (cell + gap);
    root.append(svg("text", { x: left - 6, y: yy + cell / 2 + 4, "text-anchor": "end", class: "axis-label",
      text: d.heatmap.weekdays[wd] }));
    row.forEach((value, hour) => {
      const rect = svg("rect", { x: left + hour * (cell + gap), y: yy, width: cell, height: cell, rx: 3,
        class: value ? "heat" : "heat empty", "data-wd": wd, "data-hour": hour, "data-value": value });
      if (value) rect.setAttribute("fill-opacity", (0.15 + 0.85 * (value / max)).toFixed(3));
      root.append(titled(rect, `${WEEKDAYS[wd]} ${String(hour).padStart(2, "0")}h: ${plural(value, "contato", "contatos")}`));
    });
  });
  $('[data-testid="chart-heatmap"] .chart-body').replaceChildren(root);
}

// -- staffing -------------------------------------------------------------------------------
function renderStaffing(d) {
  const st = d.staffing;
  const form = $('[data-testid="staffing-form"]');
  form.elements.sl.value = Math.round(st.target_service_level * 100);
  form.elements.answer_seconds.value = Math.round(st.answer_seconds);
  form.elements.max_occupancy.value = Math.round(st.max_occupancy * 100);
  form.elements.concurrency.value = st.concurrency;
  const note = $('[data-testid="staffing-note"]');
  const table = $('[data-testid="staffing-table"]');
  if (st.aht_seconds === null) {
    note.textContent = "Sem atendimentos encerrados no período: não há AHT medido para dimensionar a equipe.";
    table.replaceChildren();
    return;
  }
  const hours = [];
  for (let hour = 0; hour < 24; hour++) {
    if (st.cells.some((row) => row[hour].volume_per_hour > 0)) hours.push(hour);
  }
  const lo = Math.min(...st.weekday_occurrences), hi = Math.max(...st.weekday_occurrences);
  const weeks = lo === hi ? plural(hi, "semana", "semanas") : `${num(lo)}–${num(hi)} semanas`;
  note.textContent = `Volume medido de transferências por hora (média de ${weeks} do período) e AHT medido de ` +
    `${duration(st.aht_seconds)}` +
    (st.concurrency > 1 ? ` ÷ ${num(st.concurrency, 1)} conversas simultâneas` : "") +
    `; meta: ${pct(st.target_service_level, 0)} respondidos em até ${duration(st.answer_seconds)}, ` +
    `ocupação até ${pct(st.max_occupancy, 0)}.` +
    (st.peak ? ` Pico: ${WEEKDAYS[st.peak.weekday]} ${String(st.peak.hour).padStart(2, "0")}h com ` +
      `${plural(st.peak.agents, "atendente", "atendentes")}.` : "");
  const head = el("tr", {}, [el("th", { scope: "col", text: "Hora" }),
    ...WEEKDAYS.map((w) => el("th", { scope: "col", text: w }))]);
  const body = hours.map((hour) => el("tr", {}, [
    el("th", { scope: "row", text: `${String(hour).padStart(2, "0")}h` }),
    ...st.cells.map((row, wd) => {
      const c = row[hour];
      const td = el("td", { "data-wd": wd, "data-hour": hour, "data-agents": c.agents ?? "",
        class: c.agents ? "has" : "zero", text: c.agents ? num(c.agents) : "–" });
      if (c.volume_per_hour > 0) {
        td.title = `${num(c.volume_per_hour, 2)} transferências/h · nível de serviço ${pct(c.service_level, 0)}` +
          ` · ocupação ${pct(c.occupancy, 0)}`;
      }
      return td;
    }),
  ]));
  if (!hours.length) note.textContent = "Sem transferências para humanos no período.";
  table.replaceChildren(el("thead", {}, [head]), el("tbody", {}, body));
}

// -- reminders, no-show and waitlist (GET /api/reminders/stats; docs/metrics.md, "Reminders,
// no-show and waitlist") ---------------------------------------------------------------------
const NOSHOW_GROUPS = [["specialty", "Especialidade"], ["doctor", "Médico(a)"], ["weekday", "Dia da semana"]];
const remState = { seq: 0 };

function nextDay(isoDate) {
  const d = new Date(`${isoDate}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

function hours(value) { return value === null || value === undefined ? "—" : `${num(value, 1)} h`; }

function rateText(t) {
  if (!t || !t.eligible) return "—";
  return `${pct(t.rate)} (${num(t.no_show)}/${num(t.eligible)})`;
}

function deltaText(now, before) {
  if (!now || !before || now.rate === null || before.rate === null) return "—";
  const pp = 100 * (now.rate - before.rate);
  return `${pp > 0 ? "+" : pp < 0 ? "−" : ""}${num(Math.abs(pp), 1)} p.p.`;
}

function groupLabel(r, group, key) {
  if (group === "weekday") return WEEKDAYS[Number(key)] || key;
  return (r.labels && r.labels[group] && r.labels[group][key]) || `#${key}`;
}

function renderReminders(r) {
  const t = r.total, w = r.waitlist, ns = r.no_show;
  const share = (n) => (t.sent ? `${pct(n / t.sent)} dos enviados` : "nenhum lembrete enviado");
  $('[data-group="reminders"]').replaceChildren(
    card("rem-sent", "Lembretes enviados", num(t.sent), `${plural(t.delivered, "entregue", "entregues")} · ${plural(t.read, "lido", "lidos")}`),
    card("rem-delivered", "Lembretes entregues", num(t.delivered), share(t.delivered)),
    card("rem-read", "Lembretes lidos", num(t.read), share(t.read)),
    card("rem-confirmation", "Confirmação após lembrete", pct(t.confirmation_rate),
      `${num(t.confirmed)} de ${num(t.sent)} confirmaram`),
    card("rem-cancelled", "Cancelamentos após lembrete", num(t.cancelled),
      t.cancelled ? `mediana de ${hours(t.cancel_lead_hours_median)} antes da consulta` : "nenhum cancelamento"),
    card("waitlist-refilled", "Horários preenchidos pela lista de espera", num(w.accepted),
      `${plural(w.offered, "oferta", "ofertas")} · ${plural(w.expired, "expirada", "expiradas")} · ` +
        plural(w.declined, "recusada", "recusadas")),
    card("noshow", "Faltas — últimos 7 dias", pct(ns.this_week.total.rate),
      `${num(ns.this_week.total.no_show)} de ${num(ns.this_week.total.eligible)} · semana anterior ` +
      `${pct(ns.last_week.total.rate)} (${deltaText(ns.this_week.total, ns.last_week.total)})`),
  );
  $('[data-testid="noshow-note"]').textContent = "Falta: consulta cujo horário terminou há mais de " +
    `${num(ns.grace_hours, 0)} h e que não foi cancelada nem marcada como realizada (o hub só sabe o que a ` +
    "agenda ou a recepção registram). Últimos 7 dias até o fim do período (ou agora) × os 7 dias anteriores.";
  const head = el("tr", {}, [el("th", { scope: "col", text: "Grupo" }), el("th", { scope: "col", text: "" }),
    el("th", { scope: "col", text: "Últimos 7 dias" }), el("th", { scope: "col", text: "7 dias anteriores" }),
    el("th", { scope: "col", text: "Variação" })]);
  const rows = [];
  for (const [group, title] of NOSHOW_GROUPS) {
    const now = ns.this_week[`by_${group}`] || {}, before = ns.last_week[`by_${group}`] || {};
    const keys = [...new Set([...Object.keys(now), ...Object.keys(before)])].sort((a, b) => Number(a) - Number(b));
    for (const key of keys) {
      rows.push(el("tr", { "data-group": group, "data-key": key }, [
        el("th", { scope: "row", text: title }),
        el("td", { text: groupLabel(r, group, key) }),
        el("td", { "data-week": "this", "data-rate": now[key] ? now[key].rate : "", text: rateText(now[key]) }),
        el("td", { "data-week": "last", "data-rate": before[key] ? before[key].rate : "", text: rateText(before[key]) }),
        el("td", { "data-week": "delta", text: deltaText(now[key], before[key]) }),
      ]));
    }
  }
  if (!rows.length) {
    rows.push(el("tr", {}, [el("td", { colspan: "5", text: "Sem consultas encerradas nas duas semanas." })]));
  }
  $('[data-testid="noshow-table"]').replaceChildren(el("thead", {}, [head]), el("tbody", {}, rows));
  $('[data-testid="reminders-region"]').dataset.loaded = String(Date.now());
}

async function loadReminders(from, to) {
  const seq = ++remState.seq;
  const box = $('[data-testid="reminders-error"]');
  const params = new URLSearchParams({ from, to: nextDay(to) });
  try {
    const r = await fetch(`/api/reminders/stats?${params}`, { credentials: "same-origin",
      headers: { Accept: "application/json" } });
    if (seq !== remState.seq) return;
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      box.textContent = (body.error && body.error.message) || `Erro ${r.status} ao carregar os lembretes.`;
      box.hidden = false;
      return;
    }
    box.hidden = true;
    renderReminders(body);
  } catch (err) {
    if (seq !== remState.seq) return;
    box.textContent = "Sem conexão com o servidor para os lembretes.";
    box.hidden = false;
  }
}

// -- data -----------------------------------------------------------------------------------
function query() {
  const params = new URLSearchParams();
  if (state.from && state.to) { params.set("from", state.from); params.set("to", state.to); }
  for (const [k, v] of Object.entries(state.staffing)) if (v !== "" && v !== null && v !== undefined) params.set(k, v);
  return params;
}

function showError(message) {
  const box = $('[data-testid="dash-error"]');
  box.textContent = message || "";
  box.hidden = !message;
}


async function load() {
  if (state.loading) { state.again = true; return; }
  state.loading = true;
  state.lastLoad = Date.now();
  const params = query();
  try {
    const r = await fetch(`/api/metrics?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (r.status === 401) { toLogin(); return; }
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      showError((body.error && body.error.message) || `Erro ${r.status} ao carregar os indicadores.`);
      return;
    }
    showError("");
    render(body);
  } catch (err) {
    showError("Sem conexão com o servidor; tentando de novo em instantes.");
  } finally {
    state.loading = false;
    if (state.again) { state.again = false; scheduleRefresh(); }
  }
}

function render(d) {
  state.data = d;
  state.from = d.range.from;
  state.to = d.range.to;
  const form = $('[data-testid="range-form"]');
  if (document.activeElement !== form.elements.from) form.elements.from.value = d.range.from;
  if (document.activeElement !== form.elements.to) form.elements.to.value = d.range.to;
  const params = query();
  $('[data-testid="csv-export"]').href = `/api/metrics.csv?${params}`;
  history.replaceState(null, "", `${location.pathname}?${params}`);
  renderCards(d);
  renderReasons(d);
  renderHourly(d);
  renderHeatmap(d);
  renderStaffing(d);
  loadReminders(d.range.from, d.range.to);
  const clock = (iso) => new Date(iso).toLocaleTimeString("pt-BR", { timeZone: d.range.timezone });
  const periodAt = d.period_computed_at && d.period_computed_at !== d.generated_at
    ? ` (período calculado às ${clock(d.period_computed_at)})` : "";
  $('[data-testid="updated-at"]').textContent = `atualizado às ${clock(d.generated_at)}${periodAt}`;
  $('[data-testid="dashboard"]').setAttribute("aria-busy", "false");
  $('[data-testid="dashboard"]').dataset.loaded = String(Date.now());
}

let refreshTimer = null;
function scheduleRefresh() {
  if (refreshTimer) return;
  const wait = Math.max(DEBOUNCE_MS, state.lastLoad + MIN_REFRESH_MS - Date.now());
  refreshTimer = setTimeout(() => { refreshTimer = null; if (!document.hidden) load(); }, wait);
}

// -- live updates ---------------------------------------------------------------------------
let pollTimer = null;
let socket = null;
function setLive(mode) {
  const badge = $('[data-testid="live-status"]');
  badge.dataset.mode = mode;
  badge.textContent = mode === "socket" ? "ao vivo" : "atualiza a cada 15 s";
}
function startPolling() {
  setLive("polling");
  if (!pollTimer) pollTimer = setInterval(() => { if (!document.hidden) load(); }, POLL_MS);
}
function stopPolling() {
  if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
}
function connectLive(delay = 5000) {
  let opened = false;
  socket = openStaffSocket({
    onOpen: () => { opened = true; stopPolling(); setLive("socket"); },
    onFrame: (frame) => { if (LIVE_TYPES.has(frame.type)) scheduleRefresh(); },
    onClose: (event) => {
      socket = null;
      if (event.code === CLOSE_UNAUTHORIZED) { toLogin(); return; }
      startPolling();
      // Reconnect: quickly after a drop, slowly when the socket never opened (endpoint absent).
      const next = opened ? 5000 : Math.min(delay * 2, 120000);
      setTimeout(() => connectLive(opened ? 5000 : next), opened ? 5000 : delay);
    },
  });
  if (!socket) startPolling();
}

// -- wiring ---------------------------------------------------------------------------------

function init() {
  const url = new URLSearchParams(location.search);
  state.from = url.get("from");
  state.to = url.get("to");
  for (const k of ["sl", "answer_seconds", "max_occupancy", "concurrency"]) {
    if (url.get(k)) state.staffing[k] = url.get(k);
  }
  const form = $('[data-testid="range-form"]');
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const from = form.elements.from.value, to = form.elements.to.value;
    if (!from || !to) { showError("Informe as duas datas."); return; }
    if (from > to) { showError("A data inicial é posterior à final."); return; }
    state.from = from; state.to = to;
    load();
  });
  for (const button of form.querySelectorAll("[data-days]")) {
    button.addEventListener("click", () => {
      const days = Number(button.dataset.days);
      const today = isoDay(new Date());
      const start = new Date(`${today}T12:00:00Z`);
      start.setUTCDate(start.getUTCDate() - (days - 1));
      state.from = start.toISOString().slice(0, 10);
      state.to = today;
      load();
    });
  }
  const staffingForm = $('[data-testid="staffing-form"]');
  staffingForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const f = staffingForm.elements;
    state.staffing = {
      sl: f.sl.value ? String(Number(f.sl.value) / 100) : "",
      answer_seconds: f.answer_seconds.value,
      max_occupancy: f.max_occupancy.value ? String(Number(f.max_occupancy.value) / 100) : "",
      concurrency: f.concurrency.value,
    };
    load();
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) scheduleRefresh(); });
  load();
  if ("WebSocket" in window) connectLive(); else startPolling();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
