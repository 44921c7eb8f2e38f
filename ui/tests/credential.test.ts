import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Profile } from '../src/lib/bindings/Profile';
import type { SsoReport } from '../src/lib/bindings/SsoReport';
import type { SsoTestRun } from '../src/lib/api';
import type { SecretExpiryOptions } from '../src/lib/bindings/SecretExpiryOptions';
import SecretEntry from '../src/components/SecretEntry.svelte';
import TestAndSave from '../src/views/TestAndSave.svelte';
import { noCredential, plan, profile } from './fixtures';
import { callsOf, handlers, reset } from './mock';
import { reactive } from './state.svelte';

vi.mock('@tauri-apps/api/core', async () => await import('./mock'));
// Progress events: the test keeps the handler and plays events into it.
let progress: ((e: { payload: unknown }) => void) | undefined;
vi.mock('@tauri-apps/api/event', () => ({
  listen: vi.fn(async (_name: string, h: (e: { payload: unknown }) => void) => {
    progress = h;
    return () => (progress = undefined);
  }),
}));

const SECRET = 'Abc8Q~xY1zT9kLmN0pQrStUvWxYz0123456789ab';

const noSecret = {
  store: 'Secret Service',
  secretStored: false,
  secretHint: null,
  hintMatches: null,
  expiresOn: null,
  certificatePasswordStored: false,
};

// The engine's expiry chooser. Dates far from today's and a 30-month cap, so a number or a
// date computed in the UI instead of taken from here would show.
const expiryOptions: SecretExpiryOptions = {
  choices: [
    { months: 3, expiresOn: '2031-04-30', default: false },
    { months: 9, expiresOn: '2031-10-31', default: true },
    { months: 30, expiresOn: '2033-07-31', default: false },
  ],
  defaultMonths: 9,
  earliest: '2031-02-01',
  latest: '2033-07-31',
  maxMonths: 30,
};

beforeEach(() => {
  reset();
  progress = undefined;
  handlers.secret_expiry_options = () => expiryOptions;
});

describe('secret entry', () => {
  it('sends the value once, empties the box and then shows only store, hint and expiry', async () => {
    handlers.credential_status = () => noSecret;
    handlers.store_secret = (args) => {
      const p = args!.profile as Profile;
      return {
        profile: { ...p, credential: { ...p.credential, kind: 'secret', secret_hint: 'Abc', expires_on: args!.expiresOn } },
        status: { ...noSecret, secretStored: true, secretHint: 'Abc', hintMatches: true, expiresOn: args!.expiresOn },
      };
    };
    const user = userEvent.setup();
    render(SecretEntry, { profile: profile({ credential: noCredential({ kind: 'secret' }) }) });
    const box = await screen.findByTestId('secret-value');
    expect(box).toHaveAttribute('type', 'password');
    await user.type(box, SECRET);
    await user.click(screen.getByTestId('store-secret'));

    const status = await screen.findByTestId('secret-status');
    expect(status).toHaveTextContent('Stored in Secret Service');
    expect(status).toHaveTextContent('hint Abc…');
    expect(status).not.toHaveTextContent(SECRET);
    expect(screen.queryByTestId('secret-value')).toBeNull();
    const [call] = callsOf('store_secret');
    expect(call.args!.secret).toBe(SECRET);
    // The default expiry is the engine's default choice, as the engine dated it.
    expect(call.args!.expiresOn).toBe('2031-10-31');
    expect(document.body.innerHTML).not.toContain(SECRET);
  });

  it("offers the engine's choices and date range, and stores nothing before they arrive", async () => {
    handlers.credential_status = () => noSecret;
    let release: (o: SecretExpiryOptions) => void = () => {};
    handlers.secret_expiry_options = () => new Promise((r) => (release = r));
    handlers.store_secret = (args) => {
      const p = args!.profile as Profile;
      return { profile: p, status: { ...noSecret, secretStored: true, secretHint: 'Abc', expiresOn: args!.expiresOn } };
    };
    const user = userEvent.setup();
    render(SecretEntry, { profile: profile({ credential: noCredential({ kind: 'secret' }) }) });
    await user.type(await screen.findByTestId('secret-value'), SECRET);
    const select = screen.getByTestId('secret-expiry') as HTMLSelectElement;
    // No lifetime of its own while waiting: nothing to choose, nothing to store.
    expect(select).toBeDisabled();
    expect(screen.getByTestId('store-secret')).toBeDisabled();

    release(expiryOptions);
    await waitFor(() => expect(select).toBeEnabled());
    expect([...select.options].map((o) => o.value)).toEqual(['3', '9', '30', 'custom']);
    expect(select.selectedOptions[0].textContent).toMatch(/^9 months .*\(default\)$/);
    expect(screen.getByText(/Microsoft allows at most 30 months/)).toBeInTheDocument();

    // Another date: the picker is bounded by the range the engine accepts.
    await user.selectOptions(select, 'custom');
    const date = screen.getByTestId('secret-expiry-date');
    expect(date).toHaveAttribute('min', '2031-02-01');
    expect(date).toHaveAttribute('max', '2033-07-31');

    // A preset sends its engine-made date.
    await user.selectOptions(select, '30');
    await user.click(screen.getByTestId('store-secret'));
    await screen.findByTestId('secret-status');
    expect(callsOf('store_secret')[0].args!.expiresOn).toBe('2033-07-31');
  });

  it('keeps what was typed and names the problem when the engine refuses it', async () => {
    handlers.credential_status = () => noSecret;
    handlers.store_secret = () => {
      throw { code: 'secret.is_secret_id', message: 'That is the Secret ID; paste the Value.' };
    };
    const user = userEvent.setup();
    render(SecretEntry, { profile: profile() });
    const box = await screen.findByTestId('secret-value');
    await user.type(box, '0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9');
    await user.click(screen.getByTestId('store-secret'));
    expect(await screen.findByTestId('secret-error')).toHaveTextContent('That is the Secret ID');
    expect(box).toHaveValue('0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9');
    expect(box).toHaveAttribute('aria-invalid', 'true');
  });

  it('explains an unavailable keychain instead of offering another place', async () => {
    handlers.credential_status = () => {
      throw { code: 'keychain.unavailable', message: 'the OS keychain is not available. Unlock it.' };
    };
    render(SecretEntry, { profile: profile() });
    expect(await screen.findByTestId('keychain-error')).toHaveTextContent('Unlock it.');
  });
});

function report(over: Partial<SsoReport> = {}): SsoReport {
  return {
    ok: true,
    checks: [
      { id: 'id_token', ok: true, detail: 'signature, issuer, audience valid' },
      { id: 'credential', ok: true, detail: 'client secret accepted' },
    ],
    claims: {
      name: 'Ada Admin',
      preferred_username: 'ada@contoso.com',
      oid: 'o',
      tid: 't',
      amr: ['pwd'],
      mfa: 'no',
      roles: ['User.Read.All'],
    },
    error: null,
    timings_ms: { discovery: 5n, browser: 100n, verdict: 8n, redeem: 4n, consent: 3n, total: 120n },
    ignoredRequests: [],
    ignoredRequestsTotal: 0,
    testedAt: '2026-11-22T10:00:00Z',
    ...over,
  };
}

describe('test and save', () => {
  it('shows progress, the report and records the pass only through mark_verified', async () => {
    let finish: (r: SsoTestRun) => void = () => {};
    handlers.run_sso_test = () => new Promise<SsoTestRun>((resolve) => (finish = resolve));
    handlers.mark_verified = (args) => ({
      ...(args!.profile as Profile),
      verified: { verified_at: '2026-11-22T10:00:00Z', signed_in_as: 'ada@contoso.com' },
    });
    const user = userEvent.setup();
    render(TestAndSave, { profile: reactive(profile()), plan: plan(), ongoto: vi.fn() });
    await user.click(screen.getByTestId('run-sso-test'));
    await waitFor(() => expect(progress).toBeDefined());
    progress!({ payload: { kind: 'browserOpened', url: 'https://login.example/authorize' } });
    expect(await screen.findByText('Waiting for you to sign in in the browser')).toBeInTheDocument();
    expect(screen.getByTestId('cancel-sso-test')).toBeInTheDocument();

    finish({ report: report(), profile: null, saveError: null, passId: 'pass-1' });
    expect(await screen.findByTestId('sso-verdict')).toHaveTextContent('Sign-in proven.');
    expect(screen.getByTestId('check-credential')).toHaveTextContent('client secret accepted');
    expect(screen.getByTestId('sso-mfa')).toHaveTextContent('No');
    expect(screen.getByTestId('verified')).toHaveTextContent('Not verified yet');

    await user.click(screen.getByTestId('mark-verified'));
    expect(await screen.findByTestId('verified-saved')).toBeInTheDocument();
    expect(screen.getByTestId('verified')).toHaveTextContent('ada@contoso.com');
    // The shell gets the pass id it handed out with the report, and nothing else says "verified".
    expect(callsOf('mark_verified')).toHaveLength(1);
    expect(callsOf('mark_verified')[0]!.args!.passId).toBe('pass-1');
    expect(screen.queryByTestId('mark-verified')).toBeNull();
  });

  it('says why the shell refused to save a pass, and keeps the report', async () => {
    handlers.run_sso_test = () => ({ report: report(), passId: 'pass-1' });
    handlers.mark_verified = () => {
      throw {
        code: 'sso_test.pass_used',
        message: 'this passing SSO test was already used to save "verified"; run the SSO test again',
      };
    };
    const user = userEvent.setup();
    render(TestAndSave, { profile: reactive(profile()), plan: plan(), ongoto: vi.fn() });
    await user.click(screen.getByTestId('run-sso-test'));
    await user.click(await screen.findByTestId('mark-verified'));
    expect(await screen.findByTestId('verify-error')).toHaveTextContent('already used');
    expect(screen.getByTestId('sso-verdict')).toHaveTextContent('Sign-in proven.');
    expect(screen.getByTestId('verified')).toHaveTextContent('Not verified yet');
  });

  it('offers no "Save as verified" for a pass the shell gave no id', async () => {
    handlers.run_sso_test = () => ({ report: report(), passId: null });
    const user = userEvent.setup();
    render(TestAndSave, { profile: profile(), plan: plan(), ongoto: vi.fn() });
    await user.click(screen.getByTestId('run-sso-test'));
    expect(await screen.findByTestId('sso-verdict')).toHaveTextContent('Sign-in proven.');
    expect(screen.queryByTestId('mark-verified')).toBeNull();
  });

  it('shows the failure, its fix and a way to the step that fixes it; no verify button', async () => {
    handlers.run_sso_test = () => ({
      report: report({
        ok: false,
        checks: [{ id: 'callback', ok: false, detail: 'Entra answered with an error' }],
        claims: null,
        error: { code: 'AADSTS700054', message: 'response_type id_token is not enabled', fix: 'Enable ID tokens.', step: 2 },
      }),
      passId: null,
    });
    const ongoto = vi.fn();
    const user = userEvent.setup();
    render(TestAndSave, { profile: profile(), plan: plan(), ongoto });
    await user.click(screen.getByTestId('run-sso-test'));
    expect(await screen.findByTestId('sso-error')).toHaveTextContent('AADSTS700054');
    expect(screen.queryByTestId('mark-verified')).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Go to step 2' }));
    expect(ongoto).toHaveBeenCalledWith(2);
  });

  it('cancels a running test', async () => {
    handlers.run_sso_test = () => new Promise(() => {});
    handlers.cancel_browser_flow = () => null;
    const user = userEvent.setup();
    render(TestAndSave, { profile: profile(), plan: plan(), ongoto: vi.fn() });
    await user.click(screen.getByTestId('run-sso-test'));
    await user.click(await screen.findByTestId('cancel-sso-test'));
    expect(callsOf('cancel_browser_flow')).toHaveLength(1);
  });

  it('counts every stray request but lists only the ones the engine kept', async () => {
    handlers.run_sso_test = (): SsoTestRun => ({
      report: report({ ignoredRequests: ['a request for another path', 'a PUT request'], ignoredRequestsTotal: 57 }),
      profile: null,
      saveError: null,
      passId: 'pass-1',
    });
    const user = userEvent.setup();
    render(TestAndSave, { profile: profile(), plan: plan(), ongoto: vi.fn() });
    await user.click(screen.getByTestId('run-sso-test'));
    expect(await screen.findByText('57 stray requests ignored while waiting')).toBeInTheDocument();
    expect(screen.getByText('a PUT request')).toBeInTheDocument();
    expect(screen.getByText('… and 55 more (not listed)')).toBeInTheDocument();
  });
});
