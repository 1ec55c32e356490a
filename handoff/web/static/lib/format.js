/*
 * atende staff pages: pt-BR formatting of dates, times, durations and numbers, always in the
 * clinic's time zone.
 */

export const TZ = "America/Sao_Paulo";

const dateTimeShort = new Intl.DateTimeFormat("pt-BR", { timeZone: TZ, dateStyle: "short", timeStyle: "short" });
export const fmtTime = new Intl.DateTimeFormat("pt-BR", { timeZone: TZ, hour: "2-digit", minute: "2-digit" });
export const fmtDate = new Intl.DateTimeFormat("pt-BR", { timeZone: TZ, day: "2-digit", month: "2-digit",
  year: "numeric" });

/** A Date from an ISO string, or null (missing or invalid). */
export function toDate(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return isNaN(d.getTime()) ? null : d;
}

/** "12/03/2025, 14:03:05" (the browser's pt-BR default), `empty` when missing, the input when invalid. */
export function dateTime(iso, empty) {
  if (!iso) return empty === undefined ? "—" : empty;
  const d = new Date(iso);
  return isNaN(d.getTime()) ? String(iso) : d.toLocaleString("pt-BR", { timeZone: TZ });
}

/** "12/03/2025, 14:03", `empty` when missing or invalid. */
export function dateTimeShortText(iso, empty) {
  const d = toDate(iso);
  const none = empty === undefined ? "—" : empty;
  return d ? dateTimeShort.format(d) : none;
}

/** "12/03/2025" in the clinic's zone (the day key). */
export function dayOf(d) { return fmtDate.format(d); }

/** "2025-03-12" in the clinic's zone. */
export function isoDay(date) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit",
    day: "2-digit" }).format(date);
}

/** "14:03" today, "12/03/2025 14:03" on other days. */
export function stamp(iso) {
  const d = toDate(iso);
  if (!d) return "";
  const time = fmtTime.format(d);
  return dayOf(d) === dayOf(new Date()) ? time : dayOf(d) + " " + time;
}

/** Time elapsed since an ISO instant: "45 s", "12 min", "2 h 05 min", "3 d 4 h". */
export function elapsed(fromIso) {
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

/** A length of time in seconds: "45 s", "3 min 07 s", "2 h 05 min"; "—" when unknown. */
export function seconds(value) {
  if (value === null || value === undefined) return "—";
  const s = Math.round(value);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return m === 60 ? `${h + 1} h 00 min` : `${h} h ${String(m).padStart(2, "0")} min`;
}

const numberFormats = {};
/** A pt-BR number with a fixed count of decimals ("1.234,5"); "—" when missing. */
export function num(value, digits) {
  const n = digits || 0;
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  const key = String(n);
  numberFormats[key] = numberFormats[key] ||
    new Intl.NumberFormat("pt-BR", { minimumFractionDigits: n, maximumFractionDigits: n });
  return numberFormats[key].format(value);
}

/** A ratio as a pt-BR percentage ("87,5%"); "—" when missing. */
export function pct(value, digits) {
  return value === null || value === undefined ? "—" : num(100 * value, digits === undefined ? 1 : digits) + "%";
}
