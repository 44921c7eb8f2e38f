// One date format everywhere: the operating system's locale (the webview's default), in its
// "medium" style. A date-only value (`YYYY-MM-DD`) is a local calendar day, not UTC midnight.
function parseDate(value: string): Date {
  return new Date(value.length === 10 ? value + 'T00:00:00' : value);
}

/** A date or timestamp's day for display, in the system locale; empty input gives ''. */
export function formatDate(value: string | null | undefined): string {
  if (!value) return '';
  const d = parseDate(value);
  if (Number.isNaN(d.getTime())) return value;
  return d.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

/** A timestamp with its time of day, the date as {@link formatDate} shows it. */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '';
  const d = parseDate(value);
  if (Number.isNaN(d.getTime())) return value;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Splits pasted text (one per line, or separated by commas, semicolons or spaces) into entries. */
export function splitPasted(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The settings sheet as tab-separated lines, with a header line. */
export function sheetAsText(rows: { screen: string; setting: string; value: string; note: string | null }[]): string {
  const clean = (s: string) => s.replace(/[\t\r\n]+/g, ' ');
  const lines = ['Screen\tSetting\tValue\tNote'];
  for (const r of rows) {
    lines.push([r.screen, r.setting, r.value, r.note ?? ''].map(clean).join('\t'));
  }
  return lines.join('\n');
}

/** Rows grouped by their `screen`, each screen once, in the order screens first appear. */
export function groupByScreen<T extends { screen: string }>(rows: T[]): { screen: string; rows: T[] }[] {
  const groups: { screen: string; rows: T[] }[] = [];
  for (const r of rows) {
    const g = groups.find((x) => x.screen === r.screen);
    if (g) g.rows.push(r);
    else groups.push({ screen: r.screen, rows: [r] });
  }
  return groups;
}

const BREAK_AFTER = new Set(['/', '.', '-', '_', '?', '&', '=', ':', '~', '\\', ',', '@', '#', '|']);

/**
 * Splits a URI, path or ID into pieces that each end at a natural break point (a run of
 * separators such as "://", "/", ".", "-", "&"), for a line break between pieces only.
 * Joined, the pieces are the text again.
 */
export function naturalBreaks(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (BREAK_AFTER.has(text[i]) && !BREAK_AFTER.has(text[i + 1] ?? '')) {
      parts.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) parts.push(text.slice(start));
  return parts;
}

/** "1 customer", "2 customers": a count with its noun (English, as all the app's words). */
export function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
