import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConsentStatus } from '../src/lib/bindings/ConsentStatus';
import type { Profile } from '../src/lib/bindings/Profile';
import type { Tracker } from '../src/lib/bindings/Tracker';
import ConsentTracker from '../src/components/ConsentTracker.svelte';
import { profile } from './fixtures';
import { callsOf, handlers, reset } from './mock';

vi.mock('@tauri-apps/api/core', async () => await import('./mock'));

/** A tracker as the engine makes it: `rows` as [tenant, status], `retryable` its own count. */
function tracker(rows: [string, ConsentStatus][], retryable: number): Tracker {
  const count = (s: ConsentStatus) => rows.filter(([, st]) => st === s).length;
  return {
    rows: rows.map(([tenant, status]) => ({
      tenant,
      name: null,
      status,
      tenantId: null,
      aadsts: null,
      hint: null,
      message: null,
      updatedAt: null,
      consentUrl: `https://login.microsoftonline.com/${tenant}/v2.0/adminconsent`,
    })),
    counts: {
      pending: count('pending'),
      consented: count('consented'),
      declined: count('declined'),
      failed: count('failed'),
    },
    retryable,
    linksUnavailable: null,
  };
}

const ROWS: [string, ConsentStatus][] = [
  ['a.com', 'pending'],
  ['b.com', 'declined'],
  ['c.com', 'failed'],
  ['d.com', 'pending'],
];

/** The tenants `capture_consent` was called for, in order. */
const captured = () => callsOf('capture_consent').map((c) => c.args!.tenant);

beforeEach(() => {
  reset();
  handlers.tenant_tracker = () => tracker(ROWS, 2);
  handlers.capture_consent = (a) => ({
    profile: a!.profile as Profile,
    outcome: {
      status: 'consented',
      tenantId: null,
      error: null,
      errorDescription: null,
      aadsts: null,
      message: 'Consented.',
      fix: null,
      step: null,
    },
  });
});

describe('consent tracker', () => {
  it("retries exactly the tenants the engine selects, in the engine's order", async () => {
    // Not what the rows' statuses alone would suggest: the selection is the engine's.
    handlers.select_tenants = () => ['c.com', 'b.com'];
    const user = userEvent.setup();
    render(ConsentTracker, { profile: profile() });
    await user.click(await screen.findByTestId('tracker-retry'));
    await waitFor(() => expect(captured()).toEqual(['c.com', 'b.com']));
    expect(callsOf('select_tenants')[0].args!.selection).toBe('failed');
  });

  it("asks the engine for the pending ones", async () => {
    handlers.select_tenants = () => ['a.com', 'd.com'];
    const user = userEvent.setup();
    render(ConsentTracker, { profile: profile() });
    await user.click(await screen.findByTestId('tracker-consent-pending'));
    await waitFor(() => expect(captured()).toEqual(['a.com', 'd.com']));
    expect(callsOf('select_tenants')[0].args!.selection).toBe('pending');
  });

  it('goes on after no answer in time and stops at any other error, as the CLI does', async () => {
    handlers.select_tenants = () => ['a.com', 'b.com', 'c.com', 'd.com'];
    handlers.capture_consent = (a) => {
      if (a!.tenant === 'a.com') throw { code: 'loopback.timeout', message: 'No answer within 180 s.' };
      throw { code: 'browser.launch', message: 'The browser did not start.' };
    };
    const user = userEvent.setup();
    render(ConsentTracker, { profile: profile() });
    await user.click(await screen.findByTestId('tracker-consent-pending'));
    expect(await screen.findByTestId('tracker-error')).toHaveTextContent('The browser did not start.');
    expect(captured()).toEqual(['a.com', 'b.com']);
  });

  it('stops when the partner cancels', async () => {
    handlers.select_tenants = () => ['a.com', 'd.com'];
    handlers.capture_consent = () => {
      throw { code: 'loopback.cancelled', message: 'Cancelled.' };
    };
    const user = userEvent.setup();
    render(ConsentTracker, { profile: profile() });
    await user.click(await screen.findByTestId('tracker-consent-pending'));
    await screen.findByTestId('tracker-error');
    expect(captured()).toEqual(['a.com']);
  });

  it("enables Retry from the engine's count of what a retry covers", async () => {
    handlers.tenant_tracker = () => tracker([['b.com', 'declined']], 1);
    const { unmount } = render(ConsentTracker, { profile: profile() });
    expect(await screen.findByTestId('tracker-retry')).toBeEnabled();
    unmount();
    handlers.tenant_tracker = () => tracker([['b.com', 'declined']], 0);
    render(ConsentTracker, { profile: profile() });
    expect(await screen.findByTestId('tracker-retry')).toBeDisabled();
  });
});
