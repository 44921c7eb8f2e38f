// The app-wide error banner's state: command failures land here.
import { toAppError, type AppError } from './api';

export const banner = $state<{ error: AppError | null }>({ error: null });

/** Shows a command failure in the banner. */
export function reportError(e: unknown): void {
  banner.error = toAppError(e);
}

/** Hides the banner. */
export function dismissError(): void {
  banner.error = null;
}
