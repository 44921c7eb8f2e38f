// Issue 15: rotating the client secret. The panel renders the engine's view and reports; the
// new Value never reaches the webview (copying is Rust's).
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { RotationView } from '../src/lib/bindings/RotationView';
import type { RotatedCredential } from '../src/lib/bindings/RotatedCredential';
import type { Profile } from '../src/lib/bindings/Profile';
import RotatePanel from '../src/components/RotatePanel.svelte';
import { profile } from './fixtures';
import { callsOf, handlers, reset } from './mock';

vi.mock('@tauri-apps/api/core', async () => await import('./mock'));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }));

const haloRow = {
  screen: 'Configuration > Integrations > Microsoft Entra ID > Details',
  setting: 'Client Secret',
  value: 'the NEW Value (copied when the rotation reaches this step)',
  note: null,
  stored: 'clientSecret' as const,
};

const planView: RotationView = {
  plan: {
    app: 'main',
    kind: 'secret',
    current: 'client secret abc…, expires 2026-12-31',
    months: 12,
    steps: [
      { reaches: 'planned', what: 'Sign in to Microsoft Graph once', rollback: 'nothing was sent yet' },
      { reaches: 'new_added', what: 'Add a new client secret beside the old one', rollback: 'remove it' },
    ],
    halo: [haloRow],
    requests: [],
  },
  blocked: null,
  inProgress: null,
  resume: null,
  halo: [],
};

function waiting(p: Profile): RotatedCredential {
  const rotation = {
    id: 'r1',
    app: 'main' as const,
    kind: 'secret' as const,
    state: 'waiting_for_halo' as const,
    started_at: '2026-11-30T10:00:00Z',
    signed_in_as: 'admin@acme.example',
    old_key_id: 'k-old',
    old_hint: 'abc',
    old_thumbprint: null,
    old_expires_on: '2026-12-31',
    new_key_id: 'k-new',
    new_hint: 'xyz',
    new_thumbprint: null,
    new_expires_on: '2027-11-30',
    by_hand: false,
  };
  return {
    profile: { ...p, rotation },
    report: {
      ok: true,
      rotation,
      record: null,
      rolledBack: false,
      steps: [{ state: 'new_added', label: 'Add the new secret beside the old one', ok: true, detail: 'Secret ID k-new' }],
      halo: [haloRow],
      policyNotes: [],
      handover: [],
      error: null,
      requests: [],
    },
  };
}

describe('RotatePanel', () => {
  beforeEach(reset);

  it('shows the plan, signs in once when asked, then waits for Halo with copy, finish and roll back', async () => {
    const p = profile();
    p.client_id = '22222222-3333-4444-5555-666666666666';
    p.credential = { ...p.credential, kind: 'secret', secret_hint: 'abc' };
    let signedIn = false;
    handlers.rotation_view = (args) =>
      (args?.profile as Profile).rotation
        ? {
            plan: null,
            blocked: null,
            inProgress: (args?.profile as Profile).rotation,
            resume: {
              state: 'waiting_for_halo',
              stateLabel: 'waiting for Halo to be updated',
              canFinish: true,
              canRollBack: true,
              advice: 'Finish once Halo uses it.',
            },
            halo: [haloRow],
          }
        : planView;
    handlers.graph_sign_in = () => {
      signedIn = true;
      return { user: 'admin@acme.example', tenantId: 't' };
    };
    handlers.rotate_credential = (args) => {
      if (!signedIn) throw { code: 'graph.not_signed_in', message: 'Sign in to Microsoft Graph for this customer first.' };
      return waiting(args?.profile as Profile);
    };
    handlers.copy_next_secret = () => ({ clearsAfterSeconds: 60 });
    const user = userEvent.setup();
    render(RotatePanel, { profile: p });
    expect((await screen.findByTestId('rotate-plan')).textContent).toContain('beside the old one');
    await user.click(screen.getByTestId('rotate-start'));
    expect((await screen.findByTestId('rotation-in-progress')).textContent).toContain('waiting for Halo');
    expect(callsOf('graph_sign_in')).toHaveLength(1);
    expect(callsOf('rotate_credential')[1].args?.action).toEqual({ kind: 'begin', app: 'main', months: 12 });
    expect(screen.getByTestId('rotate-halo').textContent).toContain('Client Secret');
    await user.click(screen.getByTestId('rotate-copy'));
    expect((await screen.findByText(/cleared after 60 seconds/)).textContent).toBeTruthy();
    // The value never came here: the copy call carries the profile only.
    expect(Object.keys(callsOf('copy_next_secret')[0].args ?? {})).toEqual(['profile']);
    expect(screen.getByTestId('rotate-halo-updated')).toBeTruthy();
    expect(screen.getByTestId('rotate-roll-back')).toBeTruthy();
  });

  it("shows nothing for a customer the engine says cannot rotate", async () => {
    handlers.rotation_view = () => ({
      plan: null,
      blocked: { code: 'rotate.no_client_id', message: 'client_id: no app yet', fix: '' },
      inProgress: null,
      resume: null,
      halo: [],
    });
    render(RotatePanel, { profile: profile() });
    await Promise.resolve();
    expect(screen.queryByTestId('rotate-panel')).toBeNull();
  });
});

describe("RotatePanel for CSP's Partner Center app", () => {
  beforeEach(reset);

  it('asks the engine about that app, begins for it, and hides a rotation of the other app', async () => {
    handlers.rotation_view = (a) => ({ ...planView, plan: { ...planView.plan!, app: a!.app as 'partnerCenter' } });
    handlers.rotate_credential = (a) => waiting(a!.profile as Profile);
    const user = userEvent.setup();
    render(RotatePanel, { profile: profile(), app: 'partnerCenter' });
    expect(await screen.findByRole('heading', { name: "Rotate the Partner Center app's client secret" })).toBeInTheDocument();
    expect(callsOf('rotation_view')[0].args!.app).toBe('partnerCenter');
    await user.click(screen.getByTestId('rotate-start'));
    expect(callsOf('rotate_credential')[0].args!.action).toEqual({ kind: 'begin', app: 'partnerCenter', months: 12 });
  });

  it("does not show the main app's rotation in progress", async () => {
    const p = profile();
    const inProgress = waiting(p).profile.rotation!;
    handlers.rotation_view = () => ({ plan: null, blocked: null, inProgress, resume: null, halo: [] });
    render(RotatePanel, { profile: p, app: 'partnerCenter' });
    await new Promise((r) => setTimeout(r, 50));
    expect(callsOf('rotation_view').length).toBeGreaterThan(0);
    expect(screen.queryByTestId('rotate-panel')).toBeNull();
  });
});
