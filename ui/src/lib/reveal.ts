// A result that appears below the fold (a report under a long page) is easy to miss: it is
// scrolled into view and focused, so a screen reader reads it too. A result that is already
// visible is left alone (focus stays on the button that was pressed).

/** Scrolls `node` into view and focuses it, unless it is wholly visible already. */
export function revealNow(node: HTMLElement): void {
  const r = node.getBoundingClientRect();
  const height = window.innerHeight || document.documentElement.clientHeight;
  if (r.top >= 0 && r.bottom <= height) return;
  if (!node.hasAttribute('tabindex')) node.setAttribute('tabindex', '-1');
  // A result taller than the window shows its top; a short one is brought just into view.
  node.scrollIntoView({ block: r.height > height ? 'start' : 'nearest' });
  node.focus({ preventScroll: true });
}

/**
 * Svelte action: `use:reveal={n}` reveals the element whenever `n` is a new, non-zero
 * number. A view counts its own new results, so a result kept from earlier and shown again
 * after coming back to the step (n = 0) does not pull the page down.
 */
export function reveal(node: HTMLElement, token: number) {
  let last = 0;
  const run = (t: number) => {
    if (!t || t === last) return;
    last = t;
    // After this render's layout: the result's siblings may still be arriving.
    queueMicrotask(() => revealNow(node));
  };
  run(token);
  return { update: run };
}

/**
 * Svelte action: a message that belongs next to the control being used (a flag under the
 * box being typed in) is scrolled just into view when it appears, without taking the focus.
 */
export function keepInView(node: HTMLElement) {
  queueMicrotask(() => {
    const r = node.getBoundingClientRect();
    const height = window.innerHeight || document.documentElement.clientHeight;
    if (r.top < 0 || r.bottom > height) node.scrollIntoView({ block: 'nearest' });
  });
}
