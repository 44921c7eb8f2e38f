// Issue 13: screens keep their place, credentials are never replaced silently, the settings
// sheet is a checklist, fewer and clearer messages, the practice customer is reopened.
import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { CustomerCard } from '../src/lib/bindings/CustomerCard';
import type { Profile } from '../src/lib/bindings/Profile';
import type { SsoReport } from '../src/lib/bindings/SsoReport';
import { dismissError } from '../src/lib/errors.svelte';
import { formatDate, formatDateTime, groupByScreen, naturalBreaks } from '../src/lib/format';
import { ssoKept } from '../src/lib/kept.svelte';
import { revealNow } from '../src/lib/reveal';
import App from '../src/App.svelte';
import CertificatePanel from '../src/components/CertificatePanel.svelte';
import GraphAutomation from '../src/components/GraphAutomation.svelte';
import SecretEntry from '../src/components/SecretEntry.svelte';
import Step3Credential from '../src/views/Step3Credential.svelte';
import Step5Csp from '../src/views/Step5Csp.svelte';
import Step6Sso from '../src/views/Step6Sso.svelte';
import TestAndSave from '../src/views/TestAndSave.svelte';
import Wizard from '../src/views/Wizard.svelte';
import { customerPages, global, issue, noCredential, plan, profile } from './fixtures';
import { callsOf, handlers, reset } from './mock';
import { reactive } from './state.svelte';

vi.mock('@tauri-apps/api/core', async () => await import('./mock'));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }));

const noSecret = {
  store: 'Secret Service',
  secretStored: false,
  secretHint: null,
  hintMatches: null,
  expiresOn: null,
  certificatePasswordStored: false,
};
const storedSecret = { ...noSecret, secretStored: true, secretHint: 'Abc', hintMatches: true, expiresOn: '2027-11-22' };

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

/** Makes every element report `rect` as its position (jsdom lays nothing out). */
function placeEverything(rect: { top: number; bottom: number }) {
  return vi.spyOn(Element.prototype, 'getBoundingClientRect').mockReturnValue({
    ...rect,
    left: 0,
    right: 100,
    width: 100,
    height: rect.bottom - rect.top,
    x: 0,
    y: rect.top,
    toJSON: () => ({}),
  } as DOMRect);
}

beforeEach(() => {
  reset();
  dismissError();
  vi.restoreAllMocks();
  handlers.plan_profile = () => plan();
  handlers.save_profile = (a) => ({ ...(a!.profile as Profile), updated_at: '2025-02-02T10:00:00Z' });
  // The engine's expiry chooser (issue 12: the UI computes no dates).
  handlers.secret_expiry_options = () => ({
    choices: [{ months: 12, expiresOn: '2031-02-28', default: true }],
    defaultMonths: 12,
    earliest: '2030-03-01',
    latest: '2032-02-28',
    maxMonths: 24,
  });
});

describe('screens keep their place', () => {
  it('keeps the Graph sign-in and the results when leaving step 2 and coming back', async () => {
    handlers.graph_sign_in = () => ({ user: 'admin@contoso.com', tenantId: 't' });
    handlers.credential_status = () => noSecret;
    handlers.check_registration = () => ({ ok: true, findings: [], access: null });
    const user = userEvent.setup();
    render(Wizard, { initial: profile(), clouds: [global], onexit: vi.fn() });

    await user.click(screen.getByTestId('step-2'));
    await user.click(screen.getByTestId('graph-sign-in'));
    expect(await screen.findByTestId('graph-signed-in')).toHaveTextContent('admin@contoso.com');
    await user.click(screen.getByTestId('check-registration'));
    expect(await screen.findByTestId('doctor-report')).toHaveTextContent('matches the plan');

    await user.click(screen.getByTestId('step-3'));
    expect(screen.queryByTestId('graph-signed-in')).toBeNull();
    await user.click(screen.getByTestId('back'));
    expect(screen.getByTestId('graph-signed-in')).toHaveTextContent('admin@contoso.com');
    expect(screen.getByTestId('doctor-report')).toHaveTextContent('matches the plan');
    expect(callsOf('graph_sign_in')).toHaveLength(1);
  });

  it('keeps the last SSO test result on Test & save until a new run', async () => {
    handlers.run_sso_test = () => ({ report: report(), passId: 'pass-1' });
    const user = userEvent.setup();
    const p = reactive(profile());
    const first = render(TestAndSave, { profile: p, plan: plan(), ongoto: vi.fn() });
    await user.click(screen.getByTestId('run-sso-test'));
    expect(await screen.findByTestId('sso-verdict')).toHaveTextContent('Sign-in proven.');
    first.unmount();

    render(TestAndSave, { profile: p, plan: plan(), ongoto: vi.fn() });
    expect(screen.getByTestId('sso-verdict')).toHaveTextContent('Sign-in proven.');
    expect(screen.getByTestId('mark-verified')).toBeInTheDocument();
    expect(screen.getByTestId('run-sso-test')).toHaveTextContent('Run the test again');
  });

  it('scrolls to the top on Next and Back', async () => {
    const scrollTo = vi.spyOn(window, 'scrollTo').mockImplementation(() => {});
    const user = userEvent.setup();
    render(Wizard, { initial: profile(), clouds: [global], onexit: vi.fn() });
    await user.click(screen.getByTestId('next'));
    expect(scrollTo).toHaveBeenLastCalledWith(0, 0);
    scrollTo.mockClear();
    await user.click(screen.getByTestId('back'));
    expect(scrollTo).toHaveBeenLastCalledWith(0, 0);
  });

  it('scrolls a new result below the fold into view and focuses it, but not a kept one', async () => {
    handlers.run_sso_test = () => ({ report: report(), passId: null });
    const scrolled = vi.spyOn(Element.prototype, 'scrollIntoView');
    placeEverything({ top: 2000, bottom: 2300 });
    const user = userEvent.setup();
    const p = reactive(profile());
    const first = render(TestAndSave, { profile: p, plan: plan(), ongoto: vi.fn() });
    await user.click(screen.getByTestId('run-sso-test'));
    const result = await screen.findByTestId('sso-report');
    await waitFor(() => expect(document.activeElement).toBe(result));
    expect(scrolled).toHaveBeenCalledTimes(1);
    first.unmount();

    scrolled.mockClear();
    render(TestAndSave, { profile: p, plan: plan(), ongoto: vi.fn() });
    await screen.findByTestId('sso-report');
    await Promise.resolve();
    expect(scrolled).not.toHaveBeenCalled();
  });

  it('leaves a result that is already visible where it is', () => {
    const node = document.createElement('div');
    document.body.append(node);
    const scrolled = vi.spyOn(node, 'scrollIntoView');
    vi.spyOn(node, 'getBoundingClientRect').mockReturnValue({ top: 10, bottom: 50, height: 40 } as DOMRect);
    revealNow(node);
    expect(scrolled).not.toHaveBeenCalled();
    expect(document.activeElement).not.toBe(node);
  });

  it('puts focus in the secret box after "Replace with a new secret"', async () => {
    handlers.credential_status = () => storedSecret;
    const user = userEvent.setup();
    render(SecretEntry, { profile: profile({ credential: noCredential({ kind: 'secret', secret_hint: 'Abc' }) }) });
    await user.click(await screen.findByTestId('replace-secret'));
    expect(screen.getByTestId('secret-value')).toHaveFocus();
  });
});

describe('credentials are never replaced silently', () => {
  it('asks before "Create it for me" replaces a stored secret, and can keep it', async () => {
    handlers.graph_sign_in = () => ({ user: null, tenantId: null });
    handlers.credential_status = () => storedSecret;
    handlers.apply_registration = (a) => ({
      profile: a!.profile,
      report: {
        ok: true,
        dryRun: false,
        application: null,
        createdApplication: false,
        servicePrincipalId: null,
        createdServicePrincipal: false,
        steps: [],
        requests: [],
        exists: [],
        handover: [],
        credential: null,
        policyNotes: [],
        error: null,
      },
    });
    const user = userEvent.setup();
    render(GraphAutomation, {
      profile: reactive(profile({ credential: noCredential({ kind: 'secret', secret_hint: 'Abc' }) })),
      plan: plan(),
    });
    await user.click(screen.getByTestId('graph-sign-in'));
    await user.click(await screen.findByTestId('apply-registration'));
    const dialog = await screen.findByTestId('apply-confirm');
    expect(dialog).toHaveTextContent('hint Abc…');
    expect(callsOf('apply_registration')).toHaveLength(0);

    await user.click(within(dialog).getByTestId('apply-keep-credential'));
    await screen.findByTestId('apply-result');
    expect(callsOf('apply_registration')).toHaveLength(1);
    expect((callsOf('apply_registration')[0].args!.request as { addSecret: boolean }).addSecret).toBe(false);
  });

  it('asks before switching the credential kind hides a stored secret', async () => {
    handlers.credential_status = () => storedSecret;
    const p = reactive(profile({ credential: noCredential({ kind: 'secret', secret_hint: 'Abc' }) }));
    const user = userEvent.setup();
    render(Step3Credential, { profile: p, plan: plan() });
    await screen.findByTestId('secret-status');

    await user.click(screen.getByTestId('field-credential.kind-certificate'));
    const dialog = await screen.findByTestId('switch-kind-dialog');
    expect(dialog).toHaveTextContent('stored client secret (hint Abc…)');
    expect(p.credential.kind).toBe('secret');
    expect(screen.getByTestId('field-credential.kind-secret')).toBeChecked();

    await user.click(within(dialog).getByTestId('switch-kind-cancel'));
    expect(p.credential.kind).toBe('secret');
    await user.click(screen.getByTestId('field-credential.kind-certificate'));
    await user.click(within(await screen.findByTestId('switch-kind-dialog')).getByTestId('switch-kind-confirm'));
    expect(p.credential.kind).toBe('certificate');
  });

  it('copies the .pfx password through Rust and says where it goes in Halo', async () => {
    handlers.copy_stored_value = () => ({ clearsAfterSeconds: 60 });
    const user = userEvent.setup();
    render(CertificatePanel, {
      profile: profile({
        credential: noCredential({
          kind: 'certificate',
          thumbprint: 'A'.repeat(40),
          certificate_file: '/home/me/Downloads/contoso.pfx',
          expires_on: '2027-11-22',
        }),
      }),
    });
    expect(screen.getByTestId('pfx-where')).toHaveTextContent('Configuration > Advanced Settings > Certificates');
    await user.click(screen.getByTestId('copy-pfx-password'));
    expect(await screen.findByTestId('pfx-password-copied')).toHaveTextContent('cleared in 60 seconds');
    expect(callsOf('copy_stored_value')[0].args!.which).toBe('certificatePassword');
  });

  it('says "certificate" after a certificate profile is saved as verified', async () => {
    handlers.run_sso_test = () => ({ report: report(), passId: 'pass-1' });
    handlers.mark_verified = (a) => ({
      ...(a!.profile as Profile),
      verified: { verified_at: '2026-11-22T10:00:00Z', signed_in_as: 'ada@contoso.com' },
    });
    const user = userEvent.setup();
    render(TestAndSave, {
      profile: reactive(profile({ credential: noCredential({ kind: 'certificate', thumbprint: 'A'.repeat(40) }) })),
      plan: plan(),
      ongoto: vi.fn(),
    });
    await user.click(screen.getByTestId('run-sso-test'));
    await user.click(await screen.findByTestId('mark-verified'));
    const saved = await screen.findByTestId('verified-saved');
    expect(saved).toHaveTextContent("The certificate's password stays in the keychain");
    expect(saved).not.toHaveTextContent('The secret stays');
  });
});

describe('settings sheet', () => {
  const sheet = [
    { screen: 'Certificates', setting: 'Password', value: 'the .pfx password', note: null, stored: 'certificatePassword' as const },
    { screen: 'SSO', setting: 'Azure Tenant ID', value: '72f988bf-86f1-41af-91ab-2d7cd011db47', note: null, stored: null },
    { screen: 'SSO', setting: 'Federated Domain', value: '(leave empty)', note: 'ADFS only.', stored: null },
    { screen: 'Advanced', setting: 'Remember Me', value: 'Off', note: null, stored: null },
    { screen: 'SSO', setting: 'Published', value: 'Off', note: null, stored: null },
  ];

  it('names each Halo screen once, with a Copy per value and the keychain rows copied by Rust', async () => {
    handlers.copy_text = () => null;
    handlers.copy_stored_value = () => ({ clearsAfterSeconds: 60 });
    const user = userEvent.setup();
    render(Step6Sso, { profile: reactive(profile()), plan: plan({ settingsSheet: sheet }) });
    const names = screen.getAllByTestId('sheet-screen-name').map((h) => h.textContent);
    expect(names).toEqual(['Certificates', 'SSO', 'Advanced']);
    const sso = screen.getAllByTestId('sheet-screen')[1];
    expect(within(sso).getAllByTestId('sheet-row')).toHaveLength(3);
    expect(within(sso).queryByText('SSO', { selector: 'td' })).toBeNull();

    await user.click(within(sso).getByRole('button', { name: 'Copy Azure Tenant ID' }));
    expect(callsOf('copy_text').at(-1)!.args).toEqual({ text: '72f988bf-86f1-41af-91ab-2d7cd011db47' });
    // An instruction is not a value to paste.
    expect(within(sso).queryByRole('button', { name: 'Copy Federated Domain' })).toBeNull();

    await user.click(screen.getByTestId('sheet-copy-stored'));
    expect(callsOf('copy_stored_value')[0].args!.which).toBe('certificatePassword');
    expect(await screen.findByTestId('sheet-stored-copied')).toHaveTextContent('cleared in 60 seconds');
    expect(callsOf('copy_text').every((c) => c.args!.text !== 'the .pfx password')).toBe(true);
  });

  it('groups rows by screen in the order screens first appear', () => {
    expect(groupByScreen(sheet).map((g) => [g.screen, g.rows.length])).toEqual([
      ['Certificates', 1],
      ['SSO', 3],
      ['Advanced', 1],
    ]);
  });
});

describe('fewer, clearer messages', () => {
  function planner(a: Record<string, unknown> | undefined) {
    const p = a!.profile as Profile;
    const issues = [];
    if (!p.tenant_id) issues.push(issue({ field: 'tenant_id', step: 1, code: 'tenant_id.required', message: 'The tenant ID is empty.' }));
    if (p.tenant_id === 'x') issues.push(issue({ field: 'tenant_id', step: 1, message: 'Not a tenant.' }));
    return plan({ issues });
  }

  it('shows no "required" errors on a new customer until the first edit', async () => {
    handlers.plan_profile = planner;
    const user = userEvent.setup();
    const p = profile();
    render(Wizard, { initial: p, initialPlan: planner({ profile: p }), fresh: true, clouds: [global], onexit: vi.fn() });
    await Promise.resolve();
    expect(screen.queryByText('The tenant ID is empty.')).toBeNull();
    expect(within(screen.getByTestId('step-1')).queryByTestId('step-errors')).toBeNull();
    expect(screen.getByTestId('field-tenant_id')).not.toHaveAttribute('aria-invalid');

    await user.type(screen.getByTestId('field-name'), '!');
    expect(await screen.findByText('The tenant ID is empty.')).toBeInTheDocument();
  });

  it('shows them after Next, and flags a wrong value at once', async () => {
    handlers.plan_profile = planner;
    const user = userEvent.setup();
    const p = profile();
    render(Wizard, { initial: p, initialPlan: planner({ profile: p }), fresh: true, clouds: [global], onexit: vi.fn() });
    await user.click(screen.getByTestId('next'));
    await waitFor(() => expect(within(screen.getByTestId('step-1')).getByTestId('step-errors')).toHaveTextContent('1'));
  });

  it('flags a Secret ID beside the box as it is typed and clears it when the value changes', async () => {
    handlers.credential_status = () => noSecret;
    handlers.check_secret_typed = (a) =>
      /^[0-9a-f-]{36}$/.test(a!.secret as string)
        ? { code: 'secret.is_secret_id', message: 'That is the Secret ID; paste the Value.' }
        : null;
    const user = userEvent.setup();
    render(SecretEntry, { profile: profile({ credential: noCredential({ kind: 'secret' }) }) });
    const box = await screen.findByTestId('secret-value');
    await user.click(box);
    await user.paste('0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9');
    expect(await screen.findByTestId('secret-typed')).toHaveTextContent('Secret ID');
    expect(box).toHaveAttribute('aria-invalid', 'true');
    expect(box.getAttribute('aria-describedby')).toContain('secret-typed');
    expect(screen.getByTestId('store-secret')).toBeDisabled();

    await user.type(box, 'x');
    await waitFor(() => expect(screen.queryByTestId('secret-typed')).toBeNull());
    expect(screen.getByTestId('store-secret')).toBeEnabled();
    expect(callsOf('store_secret')).toHaveLength(0);
  });

  it('shows the GDAP note once on step 5', () => {
    const note = issue({
      field: 'features.csp',
      step: 5,
      severity: 'info',
      code: 'csp.gdap_consent',
      message: 'Under GDAP, AdminAgents membership no longer grants access to customer tenants.',
    });
    handlers.tenant_tracker = () => ({ rows: [], counts: { consented: 0, pending: 0, failed: 0, declined: 0 }, linksUnavailable: null });
    render(Step5Csp, {
      profile: reactive(profile({ features: { import: false, csp: true } })),
      plan: plan({ issues: [note] }),
      ongoto: vi.fn(),
    });
    expect(screen.getAllByText(/Under GDAP/)).toHaveLength(1);
  });

  it('shows dates one way: the system locale, as the timestamp variant also shows the date', () => {
    const day = formatDate('2026-11-22');
    expect(day).toBe(new Date(2026, 10, 22).toLocaleDateString(undefined, { dateStyle: 'medium' }));
    expect(formatDateTime('2026-11-22T10:00:00')).toContain(day);
    expect(formatDate('2026-11-22T10:00:00')).toBe(day);
  });
});

describe('natural line breaks', () => {
  it('breaks URIs and IDs only after separators, never inside a word', () => {
    const uri = 'https://acme.halopsa.com/auth/account/azureresponse';
    const parts = naturalBreaks(uri);
    expect(parts.join('')).toBe(uri);
    expect(parts).toContain('azureresponse');
    expect(parts[0]).toBe('https://');
    expect(naturalBreaks('72f988bf-86f1-41af')).toEqual(['72f988bf-', '86f1-', '41af']);
  });
});

describe('the practice customer', () => {
  const practiceCard: CustomerCard = {
    id: 'p1',
    name: 'Sandbox practice',
    agentUrl: 'https://practice.halopsa.com',
    tenantId: '',
    cloud: 'global',
    sandbox: true,
    verifiedAt: null,
    signedInAs: null,
    lastTest: null,
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

  beforeEach(() => {
    handlers.list_clouds = () => [global];
    handlers.customer_page = customerPages([practiceCard]);
    handlers.load_profile = (a) => profile({ id: a!.id as string, name: 'Sandbox practice' });
    handlers.new_practice_profile = () => profile({ id: 'p2', name: 'Sandbox practice' });
  });

  it('reopens the existing practice customer instead of adding another', async () => {
    const user = userEvent.setup();
    render(App);
    await screen.findByTestId('customer-row');
    await user.click(screen.getByTestId('practice'));
    expect(await screen.findByTestId('step-1')).toBeInTheDocument();
    expect(callsOf('load_profile')[0].args).toEqual({ id: 'p1' });
    expect(callsOf('new_practice_profile')).toHaveLength(0);
  });

  it('offers Reset: the old practice customer goes, a new one opens', async () => {
    handlers.delete_profile = () => null;
    const user = userEvent.setup();
    render(App);
    await user.click(await screen.findByTestId('reset-practice'));
    await user.click(within(await screen.findByTestId('reset-dialog')).getByTestId('confirm-reset'));
    expect(await screen.findByTestId('step-1')).toBeInTheDocument();
    expect(callsOf('delete_profile')[0].args).toEqual({ id: 'p1' });
    expect(callsOf('new_practice_profile')).toHaveLength(1);
  });

  it('shows a failed last test on the card', async () => {
    ssoKept('p1').report = report({
      ok: false,
      error: { code: 'AADSTS7000215', message: 'Invalid client secret.', fix: 'Paste the Value.', step: 3 },
    });
    render(App);
    const row = await screen.findByTestId('customer-row');
    expect(within(row).getByTestId('last-test-failed')).toHaveTextContent('Last test failed');
    expect(within(row).getByTestId('last-test-failed')).toHaveTextContent('AADSTS7000215');
  });
});

describe('consent tracker', () => {
  it('adds pasted tenants and lists them under one header', async () => {
    const { default: ConsentTracker } = await import('../src/components/ConsentTracker.svelte');
    const row = (tenant: string, name: string) => ({
      tenant,
      name,
      status: 'pending' as const,
      tenantId: null,
      aadsts: null,
      hint: null,
      message: null,
      updatedAt: null,
      consentUrl: `https://login.example/${tenant}`,
    });
    handlers.tenant_tracker = (a) => {
      const p = a!.profile as Profile;
      return {
        rows: p.customer_tenants.map((t) => row(t.tenant, t.name ?? '')),
        counts: { consented: 0, pending: p.customer_tenants.length, failed: 0, declined: 0 },
        linksUnavailable: null,
      };
    };
    handlers.import_tenants = (a) => {
      const p = a!.profile as Profile;
      const added = [
        { tenant: '72f988bf-86f1-41af-91ab-2d7cd011db47', name: 'Contoso', consent: { status: 'pending' } },
        { tenant: 'fabrikam.onmicrosoft.com', name: 'Fabrikam', consent: { status: 'pending' } },
      ];
      return {
        profile: { ...p, customer_tenants: added },
        import: { rows: [], rejected: [], header: false },
        merge: { added: 2, alreadyPresent: [] },
      };
    };
    const user = userEvent.setup();
    render(ConsentTracker, { profile: reactive(profile({ features: { import: false, csp: true } })) });
    await user.type(screen.getByTestId('tenant-paste'), '72f988bf-86f1-41af-91ab-2d7cd011db47, Contoso{Enter}fabrikam');
    await user.click(screen.getByTestId('add-tenants'));
    await waitFor(() => expect(screen.getAllByTestId('tracker-row')).toHaveLength(2));
    // The header sits in the rows' box, with the same three columns.
    const head = screen.getByTestId('tracker-head');
    expect(head.parentElement).toBe(screen.getByTestId('tracker-list').parentElement);
    expect(head.children).toHaveLength(screen.getAllByTestId('tracker-row')[0].children.length);
  });
});
