// Issue 14 point 2: the federated path is Halo's Method 3, rendered from the engine's rows;
// "Create it for me" adds it instead of a secret.
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { FederatedSetup } from '../src/lib/bindings/FederatedSetup';
import type { SettingRow } from '../src/lib/bindings/SettingRow';
import FederatedPanel from '../src/components/FederatedPanel.svelte';
import GraphAutomation from '../src/components/GraphAutomation.svelte';
import { noCredential, plan, profile } from './fixtures';
import { callsOf, handlers, reset } from './mock';
import { reactive } from './state.svelte';

vi.mock('@tauri-apps/api/core', async () => await import('./mock'));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }));

const row = (screen: string, setting: string, value: string): SettingRow => ({
  screen,
  setting,
  value,
  note: null,
  stored: null,
});
// Values no UI would make up, so the test shows they come from the engine.
const setup: FederatedSetup = {
  haloFirst: [row('H', 'Credential Type', 'Federated Credentials'), row('H', 'Agent', '(choose one)')],
  entra: [row('E', 'Federated credential scenario', 'Other issuer'), row('E', 'Name', 'halo-engine-made')],
  haloThen: [row('H', 'Authorise Application', '(click it)')],
};
const federated = () =>
  noCredential({
    kind: 'federated',
    federated: { name: '', issuer: '', subject: '', audience: null, agent: '' },
  });

beforeEach(() => reset());

describe('federated credential', () => {
  it("shows Halo's and Entra's rows from the plan and binds Halo's three values", async () => {
    const p = reactive(profile({ credential: federated() }));
    const user = userEvent.setup();
    render(FederatedPanel, { profile: p, plan: plan({ federatedSetup: setup }) });
    expect(screen.getByTestId('federated-halo-first')).toHaveTextContent('Federated Credentials');
    const entra = screen.getByTestId('federated-entra');
    expect(entra).toHaveTextContent('Other issuer');
    // A "(…)" instruction has no Copy button; a value has one.
    const rows = within(screen.getByTestId('federated-halo-first')).getAllByTestId('federated-halo-first-row');
    expect(within(rows[0]).queryByRole('button')).not.toBeNull();
    expect(within(rows[1]).queryByRole('button')).toBeNull();
    expect(screen.getByTestId('field-credential.federated.name')).toHaveAttribute('placeholder', 'halo-engine-made');

    await user.type(screen.getByTestId('field-credential.federated.issuer'), 'https://acme.halopsa.com/auth');
    await user.type(screen.getByTestId('field-credential.federated.subject'), 'agent-7');
    await user.type(screen.getByTestId('field-credential.federated.audience'), 'api://AzureADTokenExchange');
    await user.type(screen.getByTestId('field-credential.federated.agent'), 'Integration Agent');
    expect(p.credential.federated).toEqual({
      name: '',
      issuer: 'https://acme.halopsa.com/auth',
      subject: 'agent-7',
      audience: 'api://AzureADTokenExchange',
      agent: 'Integration Agent',
    });
  });

  it('"Create it for me" asks for no secret for a federated customer', async () => {
    handlers.graph_sign_in = () => ({ user: 'admin@acme.example', tenantId: null });
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
    render(GraphAutomation, { profile: reactive(profile({ credential: federated() })), plan: plan() });
    await user.click(screen.getByTestId('graph-sign-in'));
    await screen.findByTestId('apply-federated-note');
    expect(screen.queryByTestId('apply-add-secret')).toBeNull();
    await user.click(screen.getByTestId('apply-registration'));
    await screen.findByTestId('apply-result');
    expect(callsOf('credential_status')).toHaveLength(0);
    expect((callsOf('apply_registration')[0].args!.request as { addSecret: boolean }).addSecret).toBe(false);
  });
});
