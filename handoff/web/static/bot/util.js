// atende bot teaching page (/bot): util — see /bot/bot.js.
import { createApi } from "../lib/api.js";
import { $all, announce as announceIn, el, showError } from "../lib/dom.js";
import { dateTimeShortText } from "../lib/format.js";
import { S, SUPERVISORS, ui } from "./state.js";
import { QUEUES } from "./vocab.js";

// ---------------------------------------------------------------- helpers
export function label(map, key) { return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : key; }
export function isSupervisor() { return !!(S.me && SUPERVISORS[S.me.role]); }
export function isAdmin() { return !!(S.me && S.me.role === "admin"); }

export function when(iso) { return dateTimeShortText(iso, ""); }
export const pctFmt = new Intl.NumberFormat("pt-BR", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
export function pct(v) { return typeof v === "number" ? pctFmt.format(v * 100) + "%" : "—"; }
export function delta(cur, cand) {
  if (typeof cur !== "number" || typeof cand !== "number") return { text: "—", sign: "none" };
  const d = Math.round((cand - cur) * 1000) / 10;
  if (d === 0) return { text: "0,0", sign: "zero" };
  return { text: (d > 0 ? "+" : "−") + pctFmt.format(Math.abs(d)), sign: d > 0 ? "up" : "down" };
}
export function confidence(v) { return typeof v === "number" ? Math.round(v * 100) + "%" : "sem confiança"; }
export function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }
export function sentence(text) {
  const t = String(text || "").trim();
  if (!t) return t;
  const s = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(s) ? s : s + ".";
}
// The API's normalize_text, near enough to count distinct examples while typing.
export function normalize(text) {
  return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, " ").replace(/\s+/g, " ").trim();
}
export function examplesOf(text) {
  return String(text || "").split(/\r?\n/).map(function (l) { return l.replace(/\s+/g, " ").trim(); })
    .filter(Boolean);
}

export function announce(text) { announceIn(ui.status, text); }
// An API refusal next to the action: its pt-BR message plus the details it carries (red-flag
// examples, gate reasons, every validation problem).
export function showApiError(node, err, extra) {
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

// ---------------------------------------------------------------- API
export const api = createApi({ next: "/bot", describe: describe });

// The teaching API answers in pt-BR already; a few codes get a friendlier sentence.
export function describe(status, code, message) {
  switch (code) {
    case "forbidden": return "Acesso restrito a gestores e administradores.";
    case "csrf": return "Pedido recusado pelo servidor. Recarregue a página.";
    case "override_forbidden": return sentence(message || "Só um administrador pode liberar, com justificativa");
    default:
      if (message) return sentence(message);
      return "Não foi possível concluir a operação (erro " + status + "). Tente de novo.";
  }
}

export function setBusy(root, busy) {
  $all("button, input, select, textarea", root).forEach(function (n) { n.disabled = busy; });
  root.setAttribute("aria-busy", busy ? "true" : "false");
}

export function agentName(id) {
  if (id === null || id === undefined) return "";
  if (S.staffNames && S.staffNames[String(id)]) return S.staffNames[String(id)];
  const a = S.agents.find(function (x) { return x.id === id; });
  if (a) return a.name;
  if (S.me && S.me.id === id) return S.me.name;
  return "conta nº " + id;
}

// Effective queues of the team (an account without configured queues works in all of them).
export function knownQueues() {
  const names = [];
  Object.keys(QUEUES).forEach(function (q) {
    if (S.agents.some(function (a) { return (a.queues || []).indexOf(q) >= 0; })) names.push(q);
  });
  S.agents.forEach(function (a) {
    (a.queues || []).forEach(function (q) { if (names.indexOf(q) < 0) names.push(q); });
  });
  return names.length ? names : Object.keys(QUEUES);
}
