// How times, sizes and states read on the page.

const TERMINAL = new Set(['completed', 'failed', 'canceled', 'rejected']);

export function isTerminal(state) {
  return TERMINAL.has(state);
}

/** `TASK_STATE_INPUT_REQUIRED` (1.0 wire) or `input-required` (0.3) -> `input-required`. */
export function shortState(state) {
  if (typeof state !== 'string') return 'unknown';
  return state
    .replace(/^TASK_STATE_/, '')
    .toLowerCase()
    .replace(/_/g, '-');
}

/** 4 s, 3 min 20 s, 2 h 5 min. */
export function duration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

/** How long ago an ISO time was: "12 s ago". */
export function age(iso, now = Date.now()) {
  const t = Date.parse(iso ?? '');
  if (Number.isNaN(t)) return '–';
  return `${duration(Math.max(0, now - t))} ago`;
}

export function cost(usd) {
  if (typeof usd !== 'number') return '–';
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function tokens(n) {
  return typeof n === 'number' ? n.toLocaleString('en') : '–';
}

export function localTime(iso) {
  const t = Date.parse(iso ?? '');
  return Number.isNaN(t) ? '–' : new Date(t).toLocaleString();
}

/** The text of a 1.0 message's text parts. */
export function messageText(message) {
  return (message?.parts ?? [])
    .map((p) => (typeof p.text === 'string' ? p.text : ''))
    .filter(Boolean)
    .join('\n');
}

/** The first data part of a message, if any. */
export function messageData(message) {
  const part = (message?.parts ?? []).find((p) => p.data !== undefined);
  return part?.data;
}
