// Formatting of numbers, times and statuses for display.

const nf = new Intl.NumberFormat('en');

/** num formats an integer with thousands separators. */
export function num(n) {
  return nf.format(Number(n) || 0);
}

/** percent turns the API's progress (0..1; >1 read as percent) into 0..100. */
export function percent(progress, status) {
  if (status === 'completed') return 100;
  let p = Number(progress) || 0;
  if (p > 1) p /= 100;
  return Math.max(0, Math.min(100, Math.round(p * 100)));
}

/** duration renders seconds as "1 h 2 min", "3 min 4 s" or "5.2 s". */
export function duration(seconds) {
  const s = Math.max(0, Number(seconds) || 0);
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ${m % 60} min`;
  return `${Math.floor(hrs / 24)} d ${hrs % 24} h`;
}

/** age renders how long ago an ISO time was ("just now", "5 min ago"). */
export function age(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, (now - t) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** dateTime renders an ISO time in the viewer's locale. */
export function dateTime(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : new Date(t).toLocaleString();
}

/** clock renders an ISO time as HH:MM:SS.mmm (local). */
export function clock(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const d = new Date(t);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** bytes renders a size ("1.2 KB"). */
export function bytes(n) {
  const b = Number(n) || 0;
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KB`;
  return `${(b / 1024 / 1024).toFixed(1)} MB`;
}

/** Task statuses, in filter order, with their display labels. */
export const STATUSES = [
  ['queued', 'Queued'],
  ['processing', 'Processing'],
  ['needs_input', 'Needs input'],
  ['paused', 'Paused'],
  ['completed', 'Completed'],
  ['failed', 'Failed'],
  ['cancelled', 'Cancelled'],
];

const LABELS = Object.fromEntries(STATUSES);

/** statusLabel is the display text of a status. */
export function statusLabel(s) {
  return LABELS[s] || String(s || 'unknown');
}

/** terminal reports whether a status can no longer change. */
export function terminal(s) {
  return s === 'completed' || s === 'failed' || s === 'cancelled';
}

/** stageLabel is the display text of a stage. */
export function stageLabel(s) {
  if (!s) return '—';
  return String(s).replace(/_/g, ' ');
}
