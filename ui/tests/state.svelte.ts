// Deeply reactive test data, as the wizard's session holds it (so a view's edits show).
export function reactive<T extends object>(value: T): T {
  const s = $state(value);
  return s;
}
