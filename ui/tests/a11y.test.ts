// Issue 19, screen readers and keyboard: a field with an engine finding says so
// (aria-invalid, aria-describedby naming the element that holds the message); a long action
// has one polite status region whose text follows its progress, and its result takes the
// focus; a dialog gives the focus back to what opened it.
import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { CustomerCard } from '../src/lib/bindings/CustomerCard';
import type { SsoTestRun } from '../src/lib/api';
import type { SyncPreview } from '../src/lib/bindings/SyncPreview';
import App from '../src/App.svelte';
import SyncSettings from '../src/components/SyncSettings.svelte';
import TextField from '../src/components/TextField.svelte';
import TestAndSave from '../src/views/TestAndSave.svelte';
import { dismissError } from '../src/lib/errors.svelte';
import { customerPages, global, issue, plan, profile } from './fixtures';
import { handlers, reset } from './mock';
import { reactive } from './state.svelte';

vi.mock('@tauri-apps/api/core', async () => await import('./mock'));
// Progress events: each listener is kept by its event name and the test plays events into it.
const listeners: Record<string, (e: { payload: unknown }) => void> = {};
vi.mock('@tauri-apps/api/event', () => ({
  listen: vi.fn(async (name: string, h: (e: { payload: unknown }) => void) => {
    listeners[name] = h;
    return () => delete listeners[name];
  }),
}));

beforeEach(() => {
  reset();
  dismissError();
  for (const k of Object.keys(listeners)) delete listeners[k];
});

/** The elements an input's aria-describedby names, each of which must exist. */
function describedBy(el: HTMLElement): HTMLElement[] {
  const ids = (el.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
  return ids.map((id) => {
    const d = document.getElementById(id);
    expect(d, `aria-describedby names #${id}, which is not on the page`).not.toBeNull();
    return d!;
  });
}

describe('errors tied to their fields', () => {
  it('marks a text field with a finding invalid and describes it with the message', () => {
    const p = plan({
      issues: [issue({ field: 'tenant_id', step: 1, message: 'The tenant ID is not a GUID or a domain.' })],
    });
    render(TextField, { field: 'tenant_id', label: 'Tenant ID', value: 'nope', plan: p });
    const input = screen.getByLabelText('Tenant ID');
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(describedBy(input).map((d) => d.textContent).join(' ')).toContain('The tenant ID is not a GUID or a domain.');
  });

  it('leaves a field without a finding valid, and a warning does not make it invalid', () => {
    const p = plan({ issues: [issue({ field: 'tenant_id', step: 1, severity: 'warning', message: 'Consider a GUID.' })] });
    const { unmount } = render(TextField, { field: 'tenant_id', label: 'Tenant ID', value: 'x', plan: p });
    const input = screen.getByLabelText('Tenant ID');
    expect(input).not.toHaveAttribute('aria-invalid');
    expect(describedBy(input).map((d) => d.textContent).join(' ')).toContain('Consider a GUID.');
    unmount();
    render(TextField, { field: 'tenant_id', label: 'Tenant ID', value: 'x', plan: plan() });
    expect(screen.getByLabelText('Tenant ID')).not.toHaveAttribute('aria-invalid');
    expect(screen.getByLabelText('Tenant ID')).not.toHaveAttribute('aria-describedby');
  });

  it('ties the sync settings fields to their findings', () => {
    const p = plan({
      issues: [
        issue({ field: 'sync.interval_minutes', step: 6, message: 'Halo syncs at most every 5 minutes.' }),
        issue({ field: 'sync.technician_groups', step: 6, message: 'Name at least one technician group.' }),
      ],
    });
    render(SyncSettings, { profile: reactive(profile()), plan: p });
    const interval = screen.getByLabelText('Sync every (minutes)');
    expect(interval).toHaveAttribute('aria-invalid', 'true');
    expect(describedBy(interval)[0]).toHaveTextContent('Halo syncs at most every 5 minutes.');
    const tech = screen.getByTestId('field-sync.technician_groups');
    expect(tech).toHaveAttribute('aria-invalid', 'true');
    expect(describedBy(tech)[0]).toHaveTextContent('Name at least one technician group.');
    // A field the engine has nothing on is left alone.
    expect(screen.getByLabelText('Group whose non-members become service accounts')).not.toHaveAttribute('aria-invalid');
  });
});

describe('progress and results for a screen reader', () => {
  it("says the SSO test's phase in one status region, focuses Cancel meanwhile and the report at the end", async () => {
    let finish: (r: SsoTestRun) => void = () => {};
    handlers.run_sso_test = () => new Promise<SsoTestRun>((resolve) => (finish = resolve));
    const user = userEvent.setup();
    render(TestAndSave, { profile: reactive(profile()), plan: plan(), ongoto: vi.fn() });
    const live = screen.getByTestId('sso-live');
    expect(live).toHaveAttribute('role', 'status');
    expect(live).toHaveTextContent(/^$/);

    await user.click(screen.getByTestId('run-sso-test'));
    await waitFor(() => expect(live).toHaveTextContent('step 1 of 5: Reading the tenant’s sign-in configuration'));
    // The Run button is disabled meanwhile: the keyboard is on Cancel, not lost.
    await waitFor(() => expect(screen.getByTestId('cancel-sso-test')).toHaveFocus());
    await waitFor(() => expect(listeners['sso-progress']).toBeDefined());
    listeners['sso-progress']!({ payload: { kind: 'browserOpened', url: 'https://login.example/authorize' } });
    await waitFor(() => expect(live).toHaveTextContent('step 2 of 5: Waiting for you to sign in in the browser'));
    listeners['sso-progress']!({ payload: { kind: 'redeeming' } });
    await waitFor(() => expect(live).toHaveTextContent('step 4 of 5: Redeeming the code'));
    // Only one status region for the test: the phase list itself is not live.
    expect(screen.getByTestId('sso-progress')).not.toHaveAttribute('aria-live');

    finish({
      report: {
        ok: true,
        checks: [{ id: 'credential', ok: true, detail: 'client secret accepted' }],
        claims: null,
        error: null,
        timings_ms: { discovery: 5n, browser: 100n, verdict: 8n, redeem: 4n, consent: 3n, total: 120n },
        ignoredRequests: [],
        ignoredRequestsTotal: 0,
        testedAt: '2026-11-22T10:00:00Z',
      },
      profile: null,
      saveError: null,
      passId: 'pass-1',
    });
    // The report takes the focus (its name is the verdict) and the status region empties,
    // so the verdict is said once.
    const report = await screen.findByTestId('sso-report');
    await waitFor(() => expect(report).toHaveFocus());
    expect(report).toHaveAccessibleName(/Sign-in proven\./);
    expect(live).toHaveTextContent(/^$/);
    expect(within(report).queryByRole('status')).toBeNull();
  });

  it('streams the sync preview progress into its status region and focuses the result', async () => {
    let finish: (r: SyncPreview) => void = () => {};
    handlers.sync_preview = () => new Promise<SyncPreview>((resolve) => (finish = resolve));
    const user = userEvent.setup();
    render(SyncSettings, { profile: reactive(profile()), plan: plan() });
    const live = screen.getByTestId('sync-live');
    expect(live).toHaveAttribute('role', 'status');
    await user.click(screen.getByTestId('sync-preview'));
    await waitFor(() => expect(live).toHaveTextContent('Signing in as the app…'));
    await waitFor(() => expect(screen.getByTestId('sync-cancel')).toHaveFocus());
    await waitFor(() => expect(listeners['sync-progress']).toBeDefined());
    listeners['sync-progress']!({ payload: { kind: 'page', users: 200, pages: 2 } });
    await waitFor(() => expect(live).toHaveTextContent('Read 200 users (2 pages)…'));
    listeners['sync-progress']!({ payload: { kind: 'page', users: 350, pages: 3 } });
    await waitFor(() => expect(live).toHaveTextContent('Read 350 users (3 pages)…'));

    finish({
      totals: { read: 350, technicians: 2, endUsers: 340, serviceAccounts: 8, deactivated: 0, notImported: 0 },
      duplicates: { emails: 0 },
      matching: { unmatched: 0 },
      findings: [],
    } as unknown as SyncPreview);
    const result = await screen.findByTestId('sync-result');
    await waitFor(() => expect(result).toHaveFocus());
    expect(live).toHaveTextContent(/^$/);
  });

  it('keeps the focus on a moved matching rule and says where it went', async () => {
    const user = userEvent.setup();
    const p = reactive(profile());
    render(SyncSettings, { profile: p, plan: plan() });
    // ['azure_id', 'email']: "Email address" up to the top, where its up arrow is disabled.
    await user.click(screen.getByTestId('move-up-email'));
    expect(p.sync.matching_order).toEqual(['email', 'azure_id']);
    await waitFor(() => expect(screen.getByTestId('move-down-email')).toHaveFocus());
    expect(screen.getByTestId('rules-moved')).toHaveTextContent('Email address moved to position 1 of 2.');
    expect(screen.getByTestId('move-up-email')).toHaveAccessibleName('Move Email address up');
  });
});

describe('dialogs and the keyboard', () => {
  function card(id: string, name: string): CustomerCard {
    return {
      id,
      name,
      agentUrl: `https://${id}.halopsa.com`,
      cloud: 'global',
      verifiedAt: null,
      updatedAt: null,
      sandbox: false,
      tenantId: '',
      signedInAs: null,
      lastTest: null,
      credentialKind: 'none',
      expiresOn: null,
      expiry: 'none',
      daysLeft: null,
      errors: 0,
      warnings: 0,
      consent: { consented: 0, declined: 0, failed: 0, pending: 1, total: 1 },
      expiringApp: 'main',
      expirySubject: "the app's client secret",
      appExpiries: [],
      rotation: null,
      canRotate: false,
    };
  }

  it('gives the focus back to the opener on Cancel, and to the heading when the row is deleted', async () => {
    let cards = [card('a', 'Contoso'), card('b', 'Fabrikam')];
    handlers.list_clouds = () => [global];
    handlers.customer_page = customerPages(() => cards);
    handlers.delete_profile = (a) => {
      cards = cards.filter((c) => c.id !== a!.id);
      return null;
    };
    const user = userEvent.setup();
    render(App);
    await screen.findAllByTestId('customer-row');
    const del = screen.getByRole('button', { name: 'Delete Contoso' });
    del.focus();
    await user.keyboard('{Enter}');
    const dialog = await screen.findByTestId('delete-dialog');
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByTestId('delete-dialog')).toBeNull());
    await waitFor(() => expect(del).toHaveFocus());

    await user.keyboard('{Enter}');
    await user.click(await screen.findByTestId('confirm-delete'));
    await waitFor(() => expect(screen.getAllByTestId('customer-row')).toHaveLength(1));
    // The row (and its button) is gone: the focus is on the list's heading, not lost.
    await waitFor(() => expect(screen.getByRole('heading', { level: 1, name: 'Customers' })).toHaveFocus());
  });
});
