/**
 * Output helpers. Session fields such as the user agent come from HTTP clients, so
 * anything printed to an operator's terminal is stripped of control characters
 * (ANSI escape sequences could rewrite the screen) and bidi overrides.
 */

// C0, DEL, C1, and the Unicode bidi embedding/override/isolate controls and line/paragraph separators.
// eslint-disable-next-line no-control-regex -- the control characters are what it strips
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const hex4 = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** A string safe to print in a table cell: unsafe characters as visible `\uXXXX` escapes. */
export function safeText(value: string | null | undefined, max = Infinity): string {
  if (value === null || value === undefined || value === '') return '-';
  const text = value.replace(UNSAFE, hex4);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * JSON for stdout. `JSON.stringify` leaves DEL, C1 controls and bidi controls raw;
 * they are escaped too (still valid JSON, same value once parsed).
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, hex4) + '\n';
}

/** `2026-11-23T00:03:35Z`: ISO 8601 in UTC, to the second. */
export function shortTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Left-aligned columns separated by two spaces; every cell must already be safe text. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function bytes(n: number | null): string {
  if (n === null) return 'unknown';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** The URL with its password (if any) masked, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable REDIS_URL>';
  }
}
