// Where the keyboard focus goes when what it was on goes away. A button that starts a long
// action is disabled (or replaced) while the action runs, and a dialog's opener can be gone
// when the dialog closes (a deleted customer's row): the browser then drops focus to <body>
// and a keyboard user starts again from the top of the page. These helpers put it somewhere
// that says what happened instead.
// WCAG 2.2, 2.4.3 Focus Order: https://www.w3.org/WAI/WCAG22/Understanding/focus-order
// ARIA APG, dialog (modal): "When a dialog closes, focus returns to the element that
// invoked the dialog" unless it no longer exists:
// https://www.w3.org/WAI/ARIA/apg/patterns/dialog-modal/

/**
 * True when nothing usable holds the focus: it fell back to <body>, or it sits on a control
 * that was disabled under it (WebKit keeps a disabled button as the active element, where
 * Tab and Enter do nothing useful).
 */
export function focusLost(): boolean {
  const a = document.activeElement;
  if (!a || a === document.body || a === document.documentElement || !a.isConnected) return true;
  return (a as HTMLButtonElement).disabled === true;
}

/** Focuses `el` (made focusable by script if it is not), keeping it in view. */
export function focusOn(el: HTMLElement | null | undefined): void {
  if (!el || !el.isConnected) return;
  if (!el.matches('a[href], button, input, select, textarea, [tabindex]')) el.setAttribute('tabindex', '-1');
  el.focus({ preventScroll: true });
  el.scrollIntoView?.({ block: 'nearest' });
}

/** Focuses `el` only when the focus was lost (so a user who moved on is not pulled back). */
export function focusIfLost(el: HTMLElement | null | undefined): void {
  if (focusLost()) focusOn(el);
}

/**
 * Svelte action for the result of an action the user just started: `use:focusResult={n}`
 * focuses the element (and brings it into view) whenever `n` is a new, non-zero number, so
 * a keyboard or screen-reader user lands on the verdict. Focus moved on to another control
 * meanwhile (the user kept working) is left alone.
 */
export function focusResult(node: HTMLElement, token: number) {
  let last = 0;
  const run = (t: number) => {
    if (!t || t === last) return;
    last = t;
    queueMicrotask(() => {
      const a = document.activeElement;
      // Already there (lib/reveal.ts brought a result below the fold into view and focused it).
      if (a === node) return;
      // The button that started it, nothing, or a place the app itself put the focus (a
      // step's heading, an earlier result: tabindex="-1", not a control): the user is
      // waiting for this result rather than working elsewhere.
      const waiting =
        focusLost() ||
        (a instanceof HTMLElement && (a.dataset.resultOf !== undefined || a.getAttribute('tabindex') === '-1'));
      if (waiting) {
        if (!node.hasAttribute('tabindex')) node.setAttribute('tabindex', '-1');
        node.scrollIntoView?.({ block: 'nearest' });
        node.focus({ preventScroll: true });
      }
    });
  };
  run(token);
  return { update: run };
}
