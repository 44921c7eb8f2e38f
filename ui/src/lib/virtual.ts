// Windowing for long lists (the consent tracker scales to hundreds of tenants): only the
// rows in view, plus a margin, are rendered.

export interface Window {
  /** First row index rendered. */
  start: number;
  /** One past the last row index rendered. */
  end: number;
  /** Space above the first rendered row, in pixels. */
  padTop: number;
  /** Space below the last rendered row, in pixels. */
  padBottom: number;
}

/** The rows to render for a list of `count` rows of `rowHeight` px scrolled to `scrollTop`. */
export function visibleWindow(
  count: number,
  rowHeight: number,
  scrollTop: number,
  viewport: number,
  overscan = 6,
): Window {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  const start = Math.min(first, count);
  const end = Math.max(start, last);
  return { start, end, padTop: start * rowHeight, padBottom: (count - end) * rowHeight };
}
