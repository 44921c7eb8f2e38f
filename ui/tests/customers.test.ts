import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { CustomerCard } from '../src/lib/bindings/CustomerCard';
import type { ImportSummary } from '../src/lib/bindings/ImportSummary';
import type { ProfileSummary } from '../src/lib/bindings/ProfileSummary';
import { dismissError } from '../src/lib/errors.svelte';
import App from '../src/App.svelte';
import { global, plan, profile } from './fixtures';
import { callsOf, handlers, reset } from './mock';

vi.mock('@tauri-apps/api/core', async () => await import('./mock'));

const rows: ProfileSummary[] = [
  {
    id: 'a',
    name: 'Contoso',
    agentUrl: 'https://contoso.halopsa.com',
    cloud: 'global',
    verifiedAt: '2025-01-02T03:04:05Z',
    updatedAt: null,
    sandbox: false,
  },
  { id: 'b', name: 'Fabrikam', agentUrl: 'https://help.fabrikam.example', cloud: 'global', verifiedAt: null, updatedAt: null, sandbox: false },
];

/** The dashboard card the engine would make of a summary row. */
function card(r: ProfileSummary): CustomerCard {
  return {
    ...r,
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

beforeEach(() => {
  reset();
  dismissError();
  handlers.list_clouds = () => [global];
  handlers.plan_profile = () => plan();
  handlers.save_profile = (a) => a!.profile;
});

describe('customers', () => {
  it('explains the app when there are no customers', async () => {
    handlers.dashboard = () => ({ customers: [], unreadable: [] });
    render(App);
    expect(await screen.findByTestId('empty-state')).toHaveTextContent('HaloITSM or HaloPSA');
  });

  it('lists, filters and opens customers', async () => {
    handlers.dashboard = () => ({ customers: rows.map(card), unreadable: [] });
    handlers.load_profile = (a) => profile({ id: a!.id as string, name: 'Fabrikam' });
    const user = userEvent.setup();
    render(App);
    const found = await screen.findAllByTestId('customer-row');
    expect(found).toHaveLength(2);
    expect(found[0]).toHaveTextContent('Global (worldwide, incl. GCC)');
    expect(found[0]).toHaveTextContent(/Verified/);
    expect(found[1]).toHaveTextContent('Not verified yet');

    // The engine searches (every word, any field); the screen shows what it keeps.
    handlers.search_customers = (a) => (a!.query === 'fabrikam.example' ? ['b'] : ['a', 'b']);
    await user.type(screen.getByTestId('customer-search'), 'fabrikam.example');
    await waitFor(() => expect(screen.getAllByTestId('customer-row')).toHaveLength(1));
    expect(callsOf('search_customers').at(-1)!.args).toEqual({ cards: rows.map(card), query: 'fabrikam.example' });

    await user.click(within(screen.getByTestId('customer-row')).getByRole('button', { name: 'Open Fabrikam' }));
    expect(await screen.findByTestId('step-1')).toHaveAttribute('aria-current', 'step');
    expect(callsOf('load_profile')[0].args).toEqual({ id: 'b' });
    expect(screen.getByTestId('field-name')).toHaveValue('Fabrikam');

    await user.click(screen.getByTestId('back-to-customers'));
    expect(await screen.findAllByTestId('customer-row')).toHaveLength(2);
  });

  it("shows the engine's search result, never an older query's, and reads no profile for it", async () => {
    handlers.dashboard = () => ({ customers: rows.map(card), unreadable: [] });
    // Each answer waits until the test releases it, so they can arrive out of order.
    const pending = new Map<string, (ids: string[]) => void>();
    handlers.search_customers = (a) => new Promise((resolve) => pending.set(a!.query as string, resolve));
    const user = userEvent.setup();
    render(App);
    await screen.findAllByTestId('customer-row');
    await user.type(screen.getByTestId('customer-search'), 'help co');
    expect([...pending.keys()]).toEqual(['h', 'he', 'hel', 'help', 'help ', 'help c', 'help co']);
    // Until an answer comes, the list stays as it was: typing never waits for the engine.
    expect(screen.getAllByTestId('customer-row')).toHaveLength(2);

    // The newest query's answer wins, even over answers that arrive after it.
    pending.get('help co')!(['b']);
    await waitFor(() => expect(screen.getAllByTestId('customer-row')).toHaveLength(1));
    pending.get('help')!(['a', 'b']);
    pending.get('h')!([]);
    await new Promise((r) => setTimeout(r, 0)); // let the late answers land
    expect(screen.getAllByTestId('customer-row')).toHaveLength(1);
    expect(screen.getByTestId('customer-row')).toHaveTextContent('Fabrikam');

    // Clearing the box shows everyone without asking.
    const asked = callsOf('search_customers').length;
    await user.clear(screen.getByTestId('customer-search'));
    await waitFor(() => expect(screen.getAllByTestId('customer-row')).toHaveLength(2));
    expect(callsOf('search_customers')).toHaveLength(asked);
    expect(callsOf('load_profile')).toHaveLength(0);
    expect(callsOf('dashboard')).toHaveLength(1);
  });

  it('says when the engine keeps no customer', async () => {
    handlers.dashboard = () => ({ customers: rows.map(card), unreadable: [] });
    handlers.search_customers = () => [];
    const user = userEvent.setup();
    render(App);
    await screen.findAllByTestId('customer-row');
    await user.type(screen.getByTestId('customer-search'), 'northwind');
    expect(await screen.findByText('No customer matches "northwind".')).toBeInTheDocument();
    expect(screen.queryAllByTestId('customer-row')).toHaveLength(0);
  });

  it('creates a customer and opens the wizard', async () => {
    handlers.dashboard = () => ({ customers: [], unreadable: [] });
    handlers.new_profile = (a) => profile({ name: a!.name as string });
    const user = userEvent.setup();
    render(App);
    await user.click(await screen.findByTestId('new-customer'));
    await user.type(screen.getByTestId('new-customer-name'), 'Northwind{Enter}');
    await waitFor(() => expect(screen.getByTestId('field-name')).toHaveValue('Northwind'));
    expect(callsOf('new_profile')[0].args).toEqual({ name: 'Northwind' });
  });

  it('asks before deleting', async () => {
    let list = [...rows];
    handlers.dashboard = () => ({ customers: list.map(card), unreadable: [] });
    handlers.delete_profile = (a) => {
      list = list.filter((r) => r.id !== a!.id);
      return null;
    };
    const user = userEvent.setup();
    render(App);
    await user.click((await screen.findAllByRole('button', { name: 'Delete Contoso' }))[0]);
    const dialog = screen.getByTestId('delete-dialog');
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(callsOf('delete_profile')).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: 'Delete Contoso' }));
    await user.click(screen.getByTestId('confirm-delete'));
    await waitFor(() => expect(screen.getAllByTestId('customer-row')).toHaveLength(1));
    expect(callsOf('delete_profile')[0].args).toEqual({ id: 'a' });
  });

  it('shows a load failure in the banner', async () => {
    handlers.dashboard = () => {
      throw { code: 'profile.no_config_dir', message: 'Could not find a configuration folder.' };
    };
    render(App);
    expect(await screen.findByTestId('error-banner')).toHaveTextContent('Could not find a configuration folder.');
  });

  it('warns about expiring credentials and lists files it could not read', async () => {
    handlers.dashboard = () => ({
      customers: [{ ...card(rows[0]), expiry: 'within7', daysLeft: 5, errors: 2 }],
      unreadable: [{ file: 'x.json', path: '/p/x.json', code: 'profile.parse', message: 'not JSON' }],
    });
    render(App);
    expect(await screen.findByTestId('expiry-badge')).toHaveTextContent('Credential expires in 5 days');
    expect(screen.getByTestId('customer-row')).toHaveTextContent('2 error(s) to fix');
    expect(screen.getByTestId('unreadable')).toHaveTextContent('x.json: not JSON');
  });

  it('asks before an import replaces a customer, showing what changes', async () => {
    handlers.dashboard = () => ({ customers: rows.map(card), unreadable: [] });
    const empty: ImportSummary = {
      imported: [],
      replaced: [],
      conflicts: [],
      skipped: [],
      rejected: [],
      keychainRemoved: [],
      secretsNote: 'nothing to re-enter',
      needsCredentials: [],
    };
    const first: ImportSummary = {
      ...empty,
      imported: [{ id: 'n', name: 'Northwind', credentialKind: 'none' }],
      conflicts: [
        {
          id: 'a',
          name: 'Contoso',
          nameHere: 'Contoso',
          changes: [{ field: 'agent_url', here: 'https://contoso.halopsa.com', incoming: 'https://evil.example' }],
          moreChanges: 0,
          identityChanges: ['agent_url'],
          updatedHere: null,
          updatedInFile: null,
        },
      ],
    };
    handlers.import_profiles = (a) =>
      a!.replace
        ? {
            ...empty,
            skipped: [{ id: 'n', name: 'Northwind', reason: 'same' }],
            replaced: [{ id: 'a', name: 'Contoso', credentialKind: 'secret', fields: ['agent_url'] }],
            keychainRemoved: [
              { id: 'a', name: 'Contoso', because: ['agent_url'], message: 'deleted the client secret of Contoso' },
            ],
            needsCredentials: ['Contoso'],
            secretsNote: 'Re-enter the secret for: Contoso.',
          }
        : first;
    const user = userEvent.setup();
    render(App);
    await screen.findAllByTestId('customer-row');
    const file = new File(['{"format":"entra-onboard-profiles"}'], 'bundle.json', { type: 'application/json' });
    // jsdom's File has no text().
    Object.defineProperty(file, 'text', { value: async () => '{"format":"entra-onboard-profiles"}' });

    // Keep: nothing replaced, and the summary says so.
    await user.upload(screen.getByTestId('import-profiles'), file);
    let dialog = await screen.findByTestId('import-conflicts-dialog');
    expect(within(dialog).getByTestId('import-conflict')).toHaveTextContent('https://evil.example');
    expect(within(dialog).getByTestId('identity-change')).toHaveTextContent('deletes its stored client secret');
    await user.click(within(dialog).getByTestId('keep-conflicts'));
    expect(screen.queryByTestId('import-conflicts-dialog')).toBeNull();
    expect(screen.getByTestId('import-kept')).toHaveTextContent('Not replaced');
    expect(callsOf('import_profiles')).toHaveLength(1);
    expect(callsOf('import_profiles')[0].args).toEqual({ text: '{"format":"entra-onboard-profiles"}', replace: null });

    // Replace: a second call with exactly the confirmed ids.
    await user.upload(screen.getByTestId('import-profiles'), file);
    dialog = await screen.findByTestId('import-conflicts-dialog');
    await user.click(within(dialog).getByTestId('confirm-replace'));
    await waitFor(() => expect(screen.getByTestId('import-replaced')).toHaveTextContent('Replaced 1'));
    expect(callsOf('import_profiles')[2].args).toEqual({ text: '{"format":"entra-onboard-profiles"}', replace: ['a'] });
    expect(screen.getByTestId('keychain-removed')).toHaveTextContent('deleted the client secret of Contoso');
    expect(screen.getByTestId('import-summary')).toHaveTextContent('Imported 1');
    expect(screen.getByTestId('import-summary')).toHaveTextContent('Re-enter the secret for: Contoso.');
  });
});

describe('rotation on the customer list (issue 15)', () => {
  it('says a rotation was left in progress and opens step 3 to finish it', async () => {
    const left: CustomerCard = {
      ...card(rows[1]),
      credentialKind: 'secret',
      rotation: {
        state: 'waiting_for_halo',
        stateLabel: 'waiting for Halo to be updated',
        canFinish: true,
        canRollBack: true,
        advice: 'Finish once Halo uses it.',
      },
      canRotate: true,
    };
    handlers.dashboard = () => ({ customers: [card(rows[0]), left], unreadable: [] });
    handlers.load_profile = (a) => {
      const p = profile({ id: a!.id as string, name: 'Fabrikam' });
      p.credential = { ...p.credential, kind: 'secret' };
      return p;
    };
    handlers.credential_status = () => ({
      store: 'Secret Service',
      secretStored: true,
      secretHint: 'abc',
      hintMatches: true,
      expiresOn: null,
      certificatePasswordStored: false,
    });
    handlers.rotation_view = () => ({ plan: null, blocked: null, inProgress: null, resume: null, halo: [] });
    const user = userEvent.setup();
    render(App);
    expect(await screen.findByTestId('rotations-in-progress')).toHaveTextContent('Fabrikam');
    const rowsShown = await screen.findAllByTestId('customer-row');
    expect(within(rowsShown[0]).queryByTestId('rotate-customer')).toBeNull();
    expect(within(rowsShown[1]).getByTestId('rotation-in-progress-badge')).toHaveTextContent('waiting for Halo');
    await user.click(within(rowsShown[1]).getByTestId('rotate-customer'));
    expect(await screen.findByTestId('field-credential.kind-secret')).toBeChecked();
  });
});
