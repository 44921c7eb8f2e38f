import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Profile } from '../src/lib/bindings/Profile';
import { dismissError } from '../src/lib/errors.svelte';
import Wizard from '../src/views/Wizard.svelte';
import ErrorBanner from '../src/components/ErrorBanner.svelte';
import { global, issue, plan, profile } from './fixtures';
import { callsOf, handlers, reset } from './mock';

vi.mock('@tauri-apps/api/core', async () => await import('./mock'));

/** A plan_profile stand-in: flags tenant_id until it looks filled in, and each allowed tenant "bad". */
function fakePlanner(args: Record<string, unknown> | undefined) {
  const p = args!.profile as Profile;
  const issues = [];
  if (p.tenant_id.length < 5) issues.push(issue({ field: 'tenant_id', step: 1, message: 'The tenant ID is not a GUID.' }));
  issues.push(issue({ field: 'credential.expires_on', step: 3, severity: 'warning', message: 'Expiry unknown.' }));
  p.allowed_tenants.forEach((t, i) => {
    if (t === 'bad') issues.push(issue({ field: `allowed_tenants[${i}]`, step: 6, message: `Row ${i} is not a tenant.` }));
  });
  return plan({ issues, valid: issues.every((i) => i.severity !== 'error') });
}

function setup(p: Profile = profile()) {
  handlers.plan_profile = fakePlanner;
  handlers.save_profile = (args) => ({ ...(args!.profile as Profile), updated_at: '2025-02-02T10:00:00Z' });
  const onexit = vi.fn();
  render(ErrorBanner);
  const r = render(Wizard, { initial: p, clouds: [global], onexit });
  return { ...r, onexit, user: userEvent.setup() };
}

beforeEach(() => {
  reset();
  dismissError();
});

describe('wizard', () => {
  it('shows engine issues next to their field with aria wiring', async () => {
    setup();
    const input = screen.getByTestId('field-tenant_id');
    await waitFor(() => expect(input).toHaveAttribute('aria-invalid', 'true'));
    const describedBy = input.getAttribute('aria-describedby')!;
    const list = document.getElementById(describedBy.split(' ').find((id) => id.endsWith('-issues'))!)!;
    expect(within(list).getByTestId('issue')).toHaveTextContent('The tenant ID is not a GUID.');
    expect(screen.getByLabelText('Directory (tenant) ID')).toBe(input);
  });

  it('badges each step with its counts and clears them when the engine does', async () => {
    const { user } = setup();
    const step1 = screen.getByTestId('step-1');
    await waitFor(() => expect(within(step1).getByTestId('step-errors')).toHaveTextContent('1'));
    expect(within(screen.getByTestId('step-3')).getByTestId('step-warnings')).toHaveTextContent('1');
    await user.type(screen.getByTestId('field-tenant_id'), 'abcdef');
    await waitFor(() => expect(within(step1).queryByTestId('step-errors')).toBeNull());
    expect(screen.getByTestId('field-tenant_id')).not.toHaveAttribute('aria-invalid');
  });

  it('navigates with Next, Back and the stepper without losing input', async () => {
    const { user } = setup();
    await user.type(screen.getByTestId('field-agent_url'), 'https://acme.halopsa.com');
    await user.click(screen.getByTestId('field-tenant_type-multi'));
    expect(screen.getByTestId('step-1')).toHaveAttribute('aria-current', 'step');

    await user.click(screen.getByTestId('next'));
    expect(screen.getByTestId('step-2')).toHaveAttribute('aria-current', 'step');
    expect(screen.getByTestId('step-1')).not.toHaveAttribute('aria-current');
    expect(screen.queryByTestId('field-agent_url')).toBeNull();

    await user.click(screen.getByTestId('step-6'));
    expect(screen.getByTestId('step-6')).toHaveAttribute('aria-current', 'step');
    // Multi-tenant: the sign-in scope is offered.
    expect(screen.getByTestId('field-sso.sign_in_scope-restricted')).toBeChecked();

    await user.click(screen.getByTestId('step-test'));
    expect(screen.queryByTestId('next')).toBeNull();

    await user.click(screen.getByTestId('back'));
    await user.click(screen.getByTestId('step-1'));
    expect(screen.getByTestId('field-agent_url')).toHaveValue('https://acme.halopsa.com');
    expect(screen.getByTestId('field-tenant_type-multi')).toBeChecked();
    expect(screen.getByTestId('back')).toBeDisabled();
  });

  it('moves between steps with Alt+Arrow keys', async () => {
    const { user } = setup();
    await user.keyboard('{Alt>}{ArrowRight}{/Alt}');
    expect(screen.getByTestId('step-2')).toHaveAttribute('aria-current', 'step');
    await user.keyboard('{Alt>}{ArrowLeft}{/Alt}');
    expect(screen.getByTestId('step-1')).toHaveAttribute('aria-current', 'step');
  });

  it('autosaves the typed profile, even while it has errors', async () => {
    const { user } = setup();
    await user.type(screen.getByTestId('field-client_id'), 'x');
    expect(screen.getByTestId('save-status')).toHaveTextContent(/Unsaved|Saving/);
    await waitFor(() => expect(screen.getByTestId('save-status')).toHaveTextContent('Saved'), { timeout: 3000 });
    // Debounced: on a loaded machine a second save may follow, but the last one carries
    // exactly what was typed, errors and all.
    const saves = callsOf('save_profile');
    expect(saves.length).toBeGreaterThanOrEqual(1);
    const last = saves[saves.length - 1].args!.profile as Profile;
    expect(last.client_id).toBe('x');
    expect(last.tenant_id).toBe('');
  });

  it('keeps edits typed while a save is in flight', async () => {
    const { user } = setup();
    let release!: () => void;
    handlers.save_profile = (args) =>
      new Promise((resolve) => {
        release = () => resolve({ ...(args!.profile as Profile), client_id: 'stale', updated_at: '2025-03-03T00:00:00Z' });
      });
    const input = screen.getByTestId('field-client_id');
    await user.type(input, 'abc');
    await waitFor(() => expect(screen.getByTestId('save-status')).toHaveTextContent('Saving…'), { timeout: 3000 });
    await user.type(input, 'def');
    release();
    await waitFor(() => expect(callsOf('save_profile').length).toBe(2), { timeout: 3000 });
    expect(input).toHaveValue('abcdef');
    expect((callsOf('save_profile')[1].args!.profile as Profile).client_id).toBe('abcdef');
  });

  it('empty optional fields are saved as null, typed ones as typed', async () => {
    const { user } = setup(profile({ portal_url: 'https://x.example/portal' }));
    await user.clear(screen.getByTestId('field-portal_url'));
    await waitFor(() => expect(callsOf('save_profile').length).toBe(1), { timeout: 3000 });
    expect((callsOf('save_profile')[0].args!.profile as Profile).portal_url).toBeNull();
  });

  it('shows each allowed tenant row with its own issue', async () => {
    const { user } = setup(profile({ tenant_type: 'multi', allowed_tenants: ['good-one', 'bad'] }));
    await user.click(screen.getByTestId('step-6'));
    const bad = screen.getByTestId('field-allowed_tenants[1]');
    await waitFor(() => expect(bad).toHaveAttribute('aria-invalid', 'true'));
    expect(screen.getByTestId('field-allowed_tenants[0]')).not.toHaveAttribute('aria-invalid');
    expect(screen.getByText('Row 1 is not a tenant.')).toBeInTheDocument();

    await user.type(screen.getByTestId('paste-tenants'), 'aaa\nbbb, ccc');
    await user.click(screen.getByRole('button', { name: 'Add pasted tenants' }));
    expect(screen.getByTestId('field-allowed_tenants[4]')).toHaveValue('ccc');
    await user.click(screen.getByRole('button', { name: 'Remove allowed tenant 2' }));
    await waitFor(() => expect(screen.queryByText('Row 1 is not a tenant.')).toBeNull());
    expect(screen.getByTestId('field-allowed_tenants[1]')).toHaveValue('aaa');
  });

  it('shows command errors in a dismissible banner and keeps the fields', async () => {
    const { user } = setup();
    handlers.plan_profile = () => {
      throw { code: 'engine.boom', message: 'The engine could not plan this profile.' };
    };
    await user.type(screen.getByTestId('field-name'), ' Ltd');
    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveAttribute('role', 'alert');
    expect(banner).toHaveTextContent('The engine could not plan this profile.');
    expect(screen.getByTestId('field-name')).toHaveValue('Contoso Ltd');
    await user.click(within(banner).getByRole('button', { name: 'Dismiss error' }));
    expect(screen.queryByTestId('error-banner')).toBeNull();
  });

  it('does not leave the wizard when the final save fails', async () => {
    const { user, onexit } = setup();
    handlers.save_profile = () => {
      throw { code: 'profile.io', message: 'Disk full.' };
    };
    await user.type(screen.getByTestId('field-name'), '!');
    await user.click(screen.getByTestId('back-to-customers'));
    await screen.findByTestId('error-banner');
    expect(onexit).not.toHaveBeenCalled();
    expect(screen.getByTestId('save-status')).toHaveTextContent('Not saved');
    expect(screen.getByTestId('field-name')).toHaveValue('Contoso!');
  });

  it('renders redirect URIs, consent link and settings sheet from the plan', async () => {
    handlers.copy_text = () => null;
    handlers.open_consent_link = () => null;
    const { user } = setup(profile({ features: { import: false, csp: true } }));
    handlers.plan_profile = () =>
      plan({
        redirectUris: [
          {
            uri: 'https://acme.halopsa.com/auth/account/azureresponse',
            platform: 'Web',
            purposes: ['agentSso'],
            description: 'Agent sign-in',
            removeAfterOnboarding: false,
          },
          {
            uri: 'http://localhost/callback',
            platform: 'Web',
            purposes: ['wizardTest'],
            description: 'Wizard test',
            removeAfterOnboarding: true,
          },
        ],
        consent: {
          url: 'https://login.microsoftonline.com/organizations/v2.0/adminconsent?client_id=1',
          tenantSegment: 'organizations',
          redirectUri: 'https://acme.halopsa.com/auth/account/azureresponse',
          whoCanConsent: ['Global Administrator'],
        },
        cspScripts: { graph: 'Connect-MgGraph', azureAd: 'Connect-AzureAD', az: 'Connect-AzAccount' },
        settingsSheet: [{ screen: 'SSO', setting: 'Tenant', value: 'abc', note: null, stored: null }],
      });
    await user.type(screen.getByTestId('field-name'), 'x');

    await user.click(screen.getByTestId('step-2'));
    const uris = await screen.findAllByTestId('redirect-uri');
    expect(uris.map((u) => u.textContent)).toEqual([
      'https://acme.halopsa.com/auth/account/azureresponse',
      'http://localhost/callback',
    ]);
    expect(screen.getAllByText('Remove after onboarding')).toHaveLength(1);
    await user.click(screen.getByTestId('copy-all-redirects'));
    expect(callsOf('copy_text').at(-1)!.args).toEqual({
      text: 'https://acme.halopsa.com/auth/account/azureresponse\nhttp://localhost/callback',
    });

    await user.click(screen.getByTestId('step-4'));
    expect(screen.getByTestId('consent-url')).toHaveTextContent(/adminconsent/);
    await user.click(screen.getByTestId('open-consent'));
    expect((callsOf('open_consent_link')[0].args!.profile as Profile).name).toBe('Contosox');

    await user.click(screen.getByTestId('step-5'));
    expect(screen.getByTestId('csp-script')).toHaveTextContent('Connect-MgGraph');
    await user.click(screen.getByTestId('csp-flavour-az'));
    expect(screen.getByTestId('csp-script')).toHaveTextContent('Connect-AzAccount');

    await user.click(screen.getByTestId('step-6'));
    expect(within(screen.getByTestId('settings-sheet')).getByText('Tenant')).toBeInTheDocument();
    await user.click(screen.getByTestId('copy-sheet'));
    expect(callsOf('copy_text').at(-1)!.args).toEqual({ text: 'Screen\tSetting\tValue\tNote\nSSO\tTenant\tabc\t' });
  });

  it('explains what to fix when there is no consent link yet, and turns CSP on from step 5', async () => {
    const { user } = setup();
    await user.click(screen.getByTestId('step-4'));
    expect(screen.getByTestId('consent-missing')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByText('The tenant ID is not a GUID.')).toBeInTheDocument());

    await user.click(screen.getByTestId('step-5'));
    await user.click(screen.getByTestId('enable-csp'));
    await user.click(screen.getByTestId('step-1'));
    expect(screen.getByTestId('field-features.csp')).toBeChecked();
  });
});
