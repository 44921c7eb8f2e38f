import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { CustomerCard } from '../src/lib/bindings/CustomerCard';
import type { ImportSummary } from '../src/lib/bindings/ImportSummary';
import type { ProfileSummary } from '../src/lib/bindings/ProfileSummary';
import { dismissError } from '../src/lib/errors.svelte';
import App from '../src/App.svelte';
import { customerPages, global, plan, profile } from './fixtures';
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
    handlers.customer_page = customerPages([]);
    render(App);
    expect(await screen.findByTestId('empty-state')).toHaveTextContent('HaloITSM or HaloPSA');
  });

  it('lists, filters and opens customers', async () => {
    handlers.customer_page = customerPages(rows.map(card));
    handlers.load_profile = (a) => profile({ id: a!.id as string, name: 'Fabrikam' });
    const user = userEvent.setup();
    render(App);
    const found = await screen.findAllByTestId('customer-row');
    expect(found).toHaveLength(2);
    expect(found[0]).toHaveTextContent('Global (worldwide, incl. GCC)');
    expect(found[0]).toHaveTextContent(/Verified/);
    expect(found[1]).toHaveTextContent('Not verified yet');
    // The first question: everyone, soonest expiry first, from the top.
    expect(callsOf('customer_page')[0].args!.query).toMatchObject({ search: '', filters: [], sort: 'expiry', offset: 0 });

    // The engine searches (every word, any field); the screen shows the page it returns.
    await user.type(screen.getByTestId('customer-search'), 'fabrikam.example');
    await waitFor(() => expect(screen.getAllByTestId('customer-row')).toHaveLength(1));
    expect(callsOf('customer_page').at(-1)!.args!.query).toMatchObject({ search: 'fabrikam.example', offset: 0 });
    expect(screen.getByTestId('customer-count')).toHaveTextContent('1 of 2 customers');

    await user.click(within(screen.getByTestId('customer-row')).getByRole('button', { name: 'Open Fabrikam' }));
    expect(await screen.findByTestId('step-1')).toHaveAttribute('aria-current', 'step');
    expect(callsOf('load_profile')[0].args).toEqual({ id: 'b' });
    expect(screen.getByTestId('field-name')).toHaveValue('Fabrikam');

    await user.click(screen.getByTestId('back-to-customers'));
    expect(await screen.findAllByTestId('customer-row')).toHaveLength(2);
  });

  it("shows the engine's page for the newest question, never an older one's, and reads no profile", async () => {
    const engine = customerPages(rows.map(card));
    // Each search's answer waits until the test releases it, so they can arrive out of order.
    const pending = new Map<string, () => void>();
    handlers.customer_page = (a) => {
      const q = (a!.query as { search: string }).search;
      if (q === '') return engine(a);
      return new Promise((resolve) => pending.set(q, () => resolve(engine(a))));
    };
    const user = userEvent.setup();
    render(App);
    await screen.findAllByTestId('customer-row');
    await user.type(screen.getByTestId('customer-search'), 'help fa');
    expect([...pending.keys()]).toEqual(['h', 'he', 'hel', 'help', 'help ', 'help f', 'help fa']);
    // Until an answer comes, the list stays as it was: typing never waits for the engine.
    expect(screen.getAllByTestId('customer-row')).toHaveLength(2);

    // The newest question's answer wins, even over answers that arrive after it.
    pending.get('help fa')!();
    await waitFor(() => expect(screen.getAllByTestId('customer-row')).toHaveLength(1));
    pending.get('help')!();
    pending.get('h')!();
    await new Promise((r) => setTimeout(r, 0)); // let the late answers land
    expect(screen.getAllByTestId('customer-row')).toHaveLength(1);
    expect(screen.getByTestId('customer-row')).toHaveTextContent('Fabrikam');
    expect(screen.getByTestId('customer-list')).toHaveAttribute('data-shown-search', 'help fa');

    await user.clear(screen.getByTestId('customer-search'));
    await waitFor(() => expect(screen.getAllByTestId('customer-row')).toHaveLength(2));
    expect(callsOf('load_profile')).toHaveLength(0);
  });

  it('says when the engine keeps no customer', async () => {
    handlers.customer_page = customerPages(rows.map(card));
    const user = userEvent.setup();
    render(App);
    await screen.findAllByTestId('customer-row');
    await user.type(screen.getByTestId('customer-search'), 'northwind');
    expect(await screen.findByText('No customer matches "northwind".')).toBeInTheDocument();
    expect(screen.queryAllByTestId('customer-row')).toHaveLength(0);
  });

  it('asks the engine for the filters and the order, and shows its counts', async () => {
    const expiring = { ...card(rows[1]), expiry: 'within30' as const, daysLeft: 12 };
    handlers.customer_page = customerPages([card(rows[0]), expiring]);
    const user = userEvent.setup();
    render(App);
    await screen.findAllByTestId('customer-row');
    const chip = screen.getByTestId('filter-expiring');
    expect(chip).toHaveTextContent('Expiring (1)');
    expect(chip).toHaveAttribute('aria-pressed', 'false');
    expect(screen.getByTestId('filter-unverified')).toHaveTextContent('Unverified (1)');

    await user.click(chip);
    expect(chip).toHaveAttribute('aria-pressed', 'true');
    await waitFor(() => expect(screen.getAllByTestId('customer-row')).toHaveLength(1));
    expect(screen.getByTestId('customer-row')).toHaveTextContent('Fabrikam');
    expect(callsOf('customer_page').at(-1)!.args!.query).toMatchObject({ filters: ['expiring'], offset: 0 });

    await user.click(screen.getByTestId('filter-sandbox'));
    expect(await screen.findByText('No customer matches with these filters.')).toBeInTheDocument();
    expect(callsOf('customer_page').at(-1)!.args!.query).toMatchObject({ filters: ['expiring', 'sandbox'] });
    await user.click(screen.getByTestId('filter-sandbox'));
    await user.click(screen.getByTestId('filter-expiring'));

    await user.selectOptions(screen.getByTestId('customer-sort'), 'name');
    await waitFor(() => expect(callsOf('customer_page').at(-1)!.args!.query).toMatchObject({ sort: 'name', filters: [] }));
  });

  it('renders only a window of 1,000 customers, each saying where it stands in the whole list', async () => {
    const many: CustomerCard[] = Array.from({ length: 1000 }, (_, i) =>
      card({ ...rows[1], id: `c${i}`, name: `Customer ${String(i).padStart(4, '0')}` }),
    );
    handlers.customer_page = customerPages(many);
    render(App);
    const first = await screen.findAllByTestId('customer-row');
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(40);
    expect(callsOf('customer_page').every((c) => (c.args!.query as { limit: number }).limit <= 200)).toBe(true);
    const list = screen.getByRole('list', { name: 'Customers' });
    expect(within(list).getAllByRole('listitem')).toHaveLength(first.length);
    expect(first[0]).toHaveAttribute('aria-setsize', '1000');
    expect(first[0]).toHaveAttribute('aria-posinset', '1');
    expect(first[0]).toHaveTextContent('Customer 0000');

    // Scrolled to the middle (jsdom lays nothing out: the scroll position is set by hand):
    // the engine is asked for the rows there, and only those are in the DOM.
    const viewport = screen.getByTestId('customer-list');
    viewport.scrollTop = 500 * 96;
    viewport.dispatchEvent(new Event('scroll'));
    await waitFor(() => expect(screen.getAllByTestId('customer-row')[0]).toHaveTextContent(/Customer 04\d\d/));
    const now = screen.getAllByTestId('customer-row');
    expect(now.length).toBeLessThan(40);
    const pos = Number(now[0].getAttribute('aria-posinset'));
    expect(now[0]).toHaveTextContent(`Customer ${String(pos - 1).padStart(4, '0')}`);
    expect(pos).toBeGreaterThan(480);
    // Asked for the window with a margin either side, not for the whole list.
    const asked = callsOf('customer_page').at(-1)!.args!.query as { offset: number; limit: number };
    expect(asked.offset).toBeLessThanOrEqual(pos - 1);
    expect(asked.offset + asked.limit).toBeGreaterThanOrEqual(pos - 1 + now.length);
    expect(asked.limit).toBeLessThan(100);
    // Scrolling one more row stays within the page held: nothing is asked.
    const before = callsOf('customer_page').length;
    viewport.scrollTop += 96;
    viewport.dispatchEvent(new Event('scroll'));
    await waitFor(() => expect(screen.getAllByTestId('customer-row')[0]).toHaveAttribute('aria-posinset', String(pos + 1)));
    expect(callsOf('customer_page')).toHaveLength(before);
    expect(list.style.paddingTop).toBe(`${pos * 96}px`);
  });

  it('creates a customer and opens the wizard', async () => {
    handlers.customer_page = customerPages([]);
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
    handlers.customer_page = customerPages(() => list.map(card));
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
    handlers.customer_page = () => {
      throw { code: 'profile.no_config_dir', message: 'Could not find a configuration folder.' };
    };
    render(App);
    expect(await screen.findByTestId('error-banner')).toHaveTextContent('Could not find a configuration folder.');
  });

  it('warns about expiring credentials and lists files it could not read', async () => {
    handlers.customer_page = (a) => ({
      ...customerPages([{ ...card(rows[0]), expiry: 'within7', daysLeft: 5, errors: 2 }])(a),
      unreadable: [{ file: 'x.json', path: '/p/x.json', code: 'profile.parse', message: 'not JSON' }],
    });
    render(App);
    expect(await screen.findByTestId('expiry-badge')).toHaveTextContent('Credential expires in 5 days');
    expect(screen.getByTestId('customer-row')).toHaveTextContent('2 errors to fix');
    expect(screen.getByTestId('unreadable')).toHaveTextContent('x.json: not JSON');
  });

  it('asks before an import replaces a customer, showing what changes', async () => {
    handlers.customer_page = customerPages(rows.map(card));
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
    handlers.customer_page = customerPages([card(rows[0]), left]);
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
