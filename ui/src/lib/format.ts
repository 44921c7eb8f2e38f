/** A date or timestamp for display, in the system locale; empty input gives ''. */
export function formatDate(value: string | null | undefined): string {
  if (!value) return '';
  const d = new Date(value.length === 10 ? value + 'T00:00:00' : value);
  if (Number.isNaN(d.getTime())) return value;
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
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

/** `YYYY-MM-DD` of a local date. */
export function isoDate(d: Date): string {
  const m = String(d.getMonth() + 1).padStart(2, '0');
  const day = String(d.getDate()).padStart(2, '0');
  return `${d.getFullYear()}-${m}-${day}`;
}

/**
 * `YYYY-MM-DD` of `from` plus `n` calendar months, clamped to the month's last day (31 Jan
 * + 1 month is 28/29 Feb), as Entra counts a secret's lifetime.
 */
export function addMonths(n: number, from: Date = new Date()): string {
  const target = new Date(from.getFullYear(), from.getMonth() + n, 1);
  const last = new Date(target.getFullYear(), target.getMonth() + 1, 0).getDate();
  target.setDate(Math.min(from.getDate(), last));
  return isoDate(target);
}
