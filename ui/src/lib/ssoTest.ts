// Words for the SSO test's stable ids. The engine decides pass/fail and writes the details;
// these are only the headings the report shows.
import type { Mfa } from './bindings/Mfa';
import type { SsoProgress } from './bindings/SsoProgress';

export type Phase = 'starting' | 'browser' | 'callback' | 'redeeming' | 'consent';

/** The phases shown while the test runs, in order. */
export const PHASES: { id: Phase; label: string }[] = [
  { id: 'starting', label: 'Reading the tenant’s sign-in configuration' },
  { id: 'browser', label: 'Waiting for you to sign in in the browser' },
  { id: 'callback', label: 'Checking the ID token' },
  { id: 'redeeming', label: 'Redeeming the code with the stored credential' },
  { id: 'consent', label: 'Checking admin consent' },
];

/** The phase a progress event moves to, if any. */
export function phaseOf(p: SsoProgress): Phase | null {
  switch (p.kind) {
    case 'listening':
    case 'browserOpened':
    case 'browserFailed':
      return 'browser';
    case 'callbackReceived':
      return 'callback';
    case 'redeeming':
      return 'redeeming';
    case 'checkingConsent':
      return 'consent';
    default:
      return null;
  }
}

/** Headings for the report's check ids (`Check.id`). */
export const CHECK_LABELS: Record<string, string> = {
  discovery: 'Tenant sign-in configuration',
  callback: 'Sign-in response',
  id_token: 'ID token (as the service desk receives it)',
  credential: 'Stored credential',
  token_id_token: 'ID token from the token endpoint',
  consent: 'Admin consent (app-only token)',
};

export const MFA_LABELS: Record<Mfa, string> = {
  yes: 'Yes',
  no: 'No',
  not_visible: 'Not visible in this token',
};
