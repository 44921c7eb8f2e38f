// Issue 13, "three actions": from a customer with no app registration, "Create it for me"
// (offered where the admin lands) signs in to Graph, creates the registration and — when the
// engine says so (`testNext`) — runs the SSO test, whose pass is saved with its result.
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApplyReport } from '../src/lib/bindings/ApplyReport';
import type { CustomerCard } from '../src/lib/bindings/CustomerCard';
import type { Profile } from '../src/lib/bindings/Profile';
import type { SsoReport } from '../src/lib/bindings/SsoReport';
import type { SsoTestRun } from '../src/lib/api';
import { dismissError } from '../src/lib/errors.svelte';
import { forgetAll, lastTest, requestCreate, requestTest, takeCreateRequest, takeTestRequest } from '../src/lib/kept.svelte';
import App from '../src/App.svelte';
import GraphAutomation from '../src/components/GraphAutomation.svelte';
import TestAndSave from '../src/views/TestAndSave.svelte';
import Wizard from '../src/views/Wizard.svelte';
import { customerPages, global, plan, profile } from './fixtures';
import { callsOf, handlers, reset } from './mock';
import { reactive } from './state.svelte';

vi.mock('@tauri-apps/api/core', async () => await import('./mock'));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }));

const CLIENT = '0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9';
const noSecret = {
  store: 'Secret Service',
  secretStored: false,
  secretHint: null,
  hintMatches: null,
  expiresOn: null,
  certificatePasswordStored: false,
};

function applyReport(over: Partial<ApplyReport> = {}): ApplyReport {
  return {
    ok: true,
    dryRun: false,
    application: { objectId: 'obj', appId: CLIENT, displayName: 'Halo SSO' },
    createdApplication: true,
    servicePrincipalId: 'sp',
    createdServicePrincipal: true,
    steps: [],
    requests: [],
    exists: [],
    handover: [],
    credential: null,
    policyNotes: [],
    error: null,
    ...over,
  };
}

function report(over: Partial<SsoReport> = {}): SsoReport {
  return {
    ok: true,
    checks: [{ id: 'credential', ok: true, detail: 'client secret accepted' }],
    claims: null,
    error: null,
    timings_ms: { discovery: 5n, browser: 100n, verdict: 8n, redeem: 4n, consent: 3n, total: 120n },
    ignoredRequests: [],
    ignoredRequestsTotal: 0,
    testedAt: '2026-11-22T10:00:00Z',
    ...over,
  };
}

const verified = { verified_at: '2026-11-22T10:00:00Z', signed_in_as: 'admin@sandbox.invalid' };

/** The shell's answer to a passing test: the outcome and "verified" saved with it. */
function savedPass(a: Record<string, unknown> | undefined): SsoTestRun {
  const p = a!.profile as Profile;
  return {
    report: report(),
    profile: { ...p, verified, last_test: { ok: true, at: verified.verified_at, code: null, reason: null } },
    saveError: null,
    passId: null,
  };
}

beforeEach(() => {
  reset();
  forgetAll();
  dismissError();
  handlers.plan_profile = (a) => plan({ createRegistration: !(a!.profile as Profile).client_id });
  handlers.save_profile = (a) => a!.profile;
  handlers.credential_status = () => noSecret;
  handlers.graph_sign_in = () => ({ user: 'admin@sandbox.invalid', tenantId: 't' });
});

describe('Create it for me, then the test', () => {
  it('goes from step 1 to a verified customer with one click in the window', async () => {
    handlers.apply_registration = (a) => ({
      report: applyReport(),
      profile: {
        ...(a!.profile as Profile),
        client_id: CLIENT,
        credential: { ...(a!.profile as Profile).credential, kind: 'secret', secret_hint: 'Abc' },
      },
      testNext: true,
    });
    handlers.run_sso_test = savedPass;
    const user = userEvent.setup();
    render(Wizard, { initial: profile({ agent_url: 'https://practice.halopsa.com' }), clouds: [global], onexit: vi.fn() });

    await user.click(await screen.findByTestId('create-for-me'));

    expect(await screen.findByTestId('verified-saved')).toHaveTextContent('this customer is verified');
    expect(screen.getByTestId('chained-test')).toHaveTextContent('"Create it for me" made the app registration');
    expect(screen.getByTestId('verified')).toHaveTextContent('Verified on');
    expect(screen.queryByTestId('mark-verified')).toBeNull();
    expect(callsOf('graph_sign_in')).toHaveLength(1);
    expect(callsOf('apply_registration')).toHaveLength(1);
    expect(callsOf('run_sso_test')).toHaveLength(1);
    // The test ran with the registration "Create it for me" recorded.
    expect((callsOf('run_sso_test')[0].args!.profile as Profile).client_id).toBe(CLIENT);
    expect(callsOf('mark_verified')).toHaveLength(0);
  });

  it('is not offered on step 1 once there is a client ID', async () => {
    render(Wizard, { initial: profile({ client_id: CLIENT }), clouds: [global], onexit: vi.fn() });
    await screen.findByTestId('field-agent_url');
    await Promise.resolve();
    expect(screen.queryByTestId('create-for-me')).toBeNull();
  });

  it('signs in first from step 2, and stays there after a repair (no test of its own)', async () => {
    handlers.apply_registration = (a) => ({ report: applyReport({ createdApplication: false }), profile: a!.profile, testNext: false });
    const ongoto = vi.fn();
    const user = userEvent.setup();
    render(GraphAutomation, { profile: reactive(profile({ client_id: CLIENT })), plan: plan(), ongoto });
    await user.click(screen.getByTestId('apply-registration'));
    await screen.findByTestId('apply-result');
    expect(callsOf('graph_sign_in')).toHaveLength(1);
    expect(callsOf('apply_registration')).toHaveLength(1);
    expect(ongoto).not.toHaveBeenCalled();
    expect(takeTestRequest(profile().id)).toBe(false);
  });

  it('stops after a failed Graph sign-in, and creates nothing', async () => {
    handlers.graph_sign_in = () => {
      throw { code: 'loopback.cancelled', message: 'The sign-in was cancelled.' };
    };
    handlers.apply_registration = vi.fn();
    const user = userEvent.setup();
    render(GraphAutomation, { profile: reactive(profile()), plan: plan({ createRegistration: true }), ongoto: vi.fn() });
    expect(screen.getByTestId('create-chain-hint')).toHaveTextContent('then runs the SSO test');
    await user.click(screen.getByTestId('apply-registration'));
    expect(await screen.findByTestId('graph-error')).toHaveTextContent('cancelled');
    expect(callsOf('apply_registration')).toHaveLength(0);
  });
});

describe('the test saves its outcome', () => {
  it('offers "Save as verified" only when the shell could not save the pass', async () => {
    handlers.run_sso_test = (): SsoTestRun => ({
      report: report(),
      profile: null,
      saveError: { code: 'profile.io', message: 'could not write the profile: disk full' },
      passId: 'pass-1',
    });
    handlers.mark_verified = (a) => ({ ...(a!.profile as Profile), verified });
    const user = userEvent.setup();
    render(TestAndSave, { profile: reactive(profile({ client_id: CLIENT })), plan: plan(), ongoto: vi.fn() });
    await user.click(screen.getByTestId('run-sso-test'));
    expect(await screen.findByTestId('record-error')).toHaveTextContent('disk full');
    await user.click(screen.getByTestId('mark-verified'));
    expect(await screen.findByTestId('verified-saved')).toBeInTheDocument();
    expect(screen.queryByTestId('record-error')).toBeNull();
  });

  it('runs a requested test once, when Test & save opens', async () => {
    handlers.run_sso_test = savedPass;
    const p = reactive(profile({ client_id: CLIENT }));
    requestTest(p.id);
    const first = render(TestAndSave, { profile: p, plan: plan(), ongoto: vi.fn() });
    await screen.findByTestId('verified-saved');
    first.unmount();
    render(TestAndSave, { profile: p, plan: plan(), ongoto: vi.fn() });
    await screen.findByTestId('sso-verdict');
    expect(callsOf('run_sso_test')).toHaveLength(1);
  });

  it('hands each request out once', () => {
    requestCreate('a', true);
    expect(takeCreateRequest('a')).toBe(true);
    expect(takeCreateRequest('a')).toBe(false);
    expect(takeCreateRequest('b')).toBe(false);
    requestTest('a');
    expect(takeTestRequest('a')).toBe(true);
    expect(takeTestRequest('a')).toBe(false);
  });
});

describe('the last test on the customer list', () => {
  const card: CustomerCard = {
    id: 'c1',
    name: 'Contoso',
    agentUrl: 'https://contoso.halopsa.com',
    tenantId: '',
    cloud: 'global',
    sandbox: false,
    verifiedAt: null,
    signedInAs: null,
    lastTest: { ok: false, at: '2026-11-22T10:00:00Z', code: 'AADSTS65001', reason: 'The app needs admin consent.' },
    credentialKind: 'secret',
    expiresOn: null,
    expiry: 'none',
    daysLeft: null,
    errors: 0,
    warnings: 0,
    consent: { consented: 0, declined: 0, failed: 0, pending: 1, total: 1 },
    updatedAt: null,
    expiringApp: 'main',
    expirySubject: "the app's client secret",
    appExpiries: [],
    rotation: null,
    canRotate: false,
  };

  it('shows a failure the profile recorded (after a restart: nothing kept in memory)', async () => {
    handlers.list_clouds = () => [global];
    handlers.customer_page = customerPages([card]);
    handlers.app_info = () => ({ name: 'Entra Onboard', version: '0.0.0', keychainService: 'x' });
    render(App);
    const row = await screen.findByTestId('customer-row');
    const failed = within(row).getByTestId('last-test-failed');
    expect(failed).toHaveTextContent('Last test failed');
    expect(failed).toHaveTextContent('AADSTS65001');
    expect(failed).toHaveAttribute('title', 'The app needs admin consent.');
  });

  it("prefers this run's test to the recorded one", () => {
    expect(lastTest('c1', card.lastTest)).toEqual({
      ok: false,
      at: '2026-11-22T10:00:00Z',
      code: 'AADSTS65001',
      message: 'The app needs admin consent.',
    });
    expect(lastTest('c1', null)).toBeNull();
  });
});
