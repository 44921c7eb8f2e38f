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

