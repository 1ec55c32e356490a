// atende inbox (/inbox): util — see /inbox/inbox.js.
import { SVG_NS } from "../lib/dom.js";
import { dayOf, TZ } from "../lib/format.js";
import { T } from "./vocab.js";

// ---------------------------------------------------------------- small helpers
export const ICONS = {
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

export function icon(name, size) {
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

export function label(map, key, fallback) {
  if (key === null || key === undefined || key === "") return fallback === undefined ? T.noValue : fallback;
  return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : String(key);
}

export function firstName(name) {
  return String(name || "").trim().split(/\s+/)[0] || "";
}

// ---------------------------------------------------------------- time (clinic zone)
export const fmtShort = new Intl.DateTimeFormat("pt-BR", { timeZone: TZ, weekday: "short", day: "2-digit",
  month: "2-digit", hour: "2-digit", minute: "2-digit" });
export const fmtFull = new Intl.DateTimeFormat("pt-BR", { timeZone: TZ, dateStyle: "full", timeStyle: "short" });

export function dayLabel(d) {
  const key = dayOf(d);
  if (key === dayOf(new Date())) return T.today;
  if (key === dayOf(new Date(Date.now() - 86400000))) return T.yesterday;
  return key;
}

// ---------------------------------------------------------------- masking (the card shows only what is needed)
export function maskPhone(raw) {
  if (!raw) return T.noValue;
  const digits = String(raw).replace(/\D/g, "");
  if (digits.length < 6) return "••••";
  let prefix = "";
  let rest = digits;
  if (rest.length >= 12 && rest.indexOf("55") === 0) { prefix = "+55 "; rest = rest.slice(2); }
  if (rest.length >= 10) prefix += "(" + rest.slice(0, 2) + ") ";
  return prefix + "•••••-" + digits.slice(-4);
}

export function maskEmail(raw) {
  if (!raw) return T.noValue;
  const at = String(raw).lastIndexOf("@");
  if (at < 1) return "•••";
  const local = raw.slice(0, at);
  const domain = raw.slice(at + 1);
  return local.charAt(0) + "•••" + (local.length > 2 ? local.charAt(local.length - 1) : "") + "@" + domain;
}
