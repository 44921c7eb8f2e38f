// Issue 15 without Graph rights: "I can't use Graph — do it by hand". The panel renders the
// engine's checklist and reports; the pasted Value leaves its masked box once, as its own
// argument, and the box is emptied when the engine has it (kept when refused).
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Profile } from '../src/lib/bindings/Profile';
import type { RotationByHandView } from '../src/lib/bindings/RotationByHandView';
import type { RotationInProgress } from '../src/lib/bindings/RotationInProgress';
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

const handPlan: RotationByHandView = {
  plan: {
    app: 'main',
    kind: 'secret',
    portal: 'Entra admin centre > App registrations > … > Certificates & secrets > Client secrets',
    description: 'Entra Onboard rotation 2026-11-30',
    steps: [
      { reaches: 'new_added', what: 'New client secret, description "Entra Onboard rotation 2026-11-30"', rollback: 'delete it' },
      { reaches: 'old_removed', what: 'delete the old secret', rollback: 'nothing to roll back' },
    ],
    halo: [haloRow],
    earliestExpiry: '2026-12-01',
    latestExpiry: '2028-11-30',
    defaultExpiry: '2027-11-30',
  },
  blocked: null,
  inProgress: null,
  resume: null,
  halo: [],
  rollbackHandover: [],
  upload: null,
};

const rotation: RotationInProgress = {
  id: 'r1',
  app: 'main',
  kind: 'secret',
  state: 'waiting_for_halo',
  started_at: '2026-11-30T10:00:00Z',
  signed_in_as: 'by hand',
  old_key_id: null,
  old_hint: 'abc',
  old_thumbprint: null,
  old_expires_on: '2026-12-31',
  new_key_id: null,
  new_hint: 'xyz',
  new_thumbprint: null,
  new_expires_on: '2027-11-30',
  by_hand: true,
};

const VALUE = 'xyz8Q~pasted-new-secret-0123456789';

describe('RotatePanel by hand', () => {
  beforeEach(reset);

  it('offers the checklist, sends the pasted Value once beside the action, then waits for Halo', async () => {
    const p = profile();
    p.client_id = '22222222-3333-4444-5555-666666666666';
    p.credential = { ...p.credential, kind: 'secret', secret_hint: 'abc' };
    handlers.rotation_view = () => ({
      plan: { app: 'main', kind: 'secret', current: 'client secret abc…', months: 12, steps: [], halo: [], requests: [] },
      blocked: null,
      inProgress: null,
      resume: null,
      halo: [],
    });
    handlers.check_secret_typed = () => null;
    handlers.rotation_by_hand_view = (args) =>
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
            rollbackHandover: ['In the portal: delete the NEW secret.'],
            upload: null,
          }
        : handPlan;
    let refuse = true;
    handlers.rotate_by_hand = (args) => {
      if (refuse) {
        refuse = false;
        throw { code: 'rotate.same_secret', message: 'new secret: this is the secret Halo uses now, not a new one.' };
      }
      return {
        profile: { ...(args?.profile as Profile), rotation },
        report: {
          ok: true,
          rotation,
          record: null,
          rolledBack: false,
          steps: [
            {
              state: 'proven',
              label: 'Prove the new secret',
              ok: true,
              detail: 'a test sign-in was redeemed with the new secret',
            },
          ],
          halo: [haloRow],
          policyNotes: [],
          handover: [],
          error: null,
          requests: [],
        },
      };
    };
    const user = userEvent.setup();
    render(RotatePanel, { profile: p });
    await user.click(await screen.findByTestId('rotate-by-hand'));
    expect((await screen.findByTestId('rotate-by-hand-checklist')).textContent).toContain('New client secret');
    const box = screen.getByTestId('rotate-by-hand-value') as HTMLInputElement;
    expect(box.type).toBe('password');
    expect((screen.getByTestId('rotate-by-hand-expiry') as HTMLInputElement).value).toBe('2027-11-30');
    await user.type(box, VALUE);
    await user.click(screen.getByTestId('rotate-by-hand-start'));
    // Refused: said, and the Value stays in its box to correct.
    expect((await screen.findByTestId('rotate-by-hand-refused')).textContent).toContain('Halo uses now');
    expect((screen.getByTestId('rotate-by-hand-value') as HTMLInputElement).value).toBe(VALUE);
    await user.click(screen.getByTestId('rotate-by-hand-start'));
    expect((await screen.findByTestId('rotation-by-hand-in-progress')).textContent).toContain('waiting for Halo');
    const sent = callsOf('rotate_by_hand')[1].args;
    expect(sent?.secret).toBe(VALUE);
    expect(sent?.action).toEqual({ kind: 'begin', app: 'main', expiresOn: '2027-11-30' });
    expect(JSON.stringify(sent?.profile)).not.toContain(VALUE);
    expect(screen.queryByTestId('rotate-by-hand-value')).toBeNull();
    expect(screen.getByTestId('rotate-by-hand-halo').textContent).toContain('Client Secret');
    expect(screen.getByTestId('rotate-by-hand-report').textContent).toContain('redeemed with the new secret');
    expect(screen.getByTestId('rotate-by-hand-copy')).toBeTruthy();
    expect(screen.getByTestId('rotate-by-hand-halo-updated')).toBeTruthy();
    expect(screen.getByText(/Rolling back leaves you to/).textContent).toContain('delete the NEW secret');
    // Nothing else carries the Value: "Halo is updated" sends no secret.
    handlers.rotate_by_hand = (args) => {
      expect(args?.secret).toBeNull();
      return { profile: args?.profile, report: { ok: true, rotation: null, record: null, rolledBack: false, steps: [], halo: [], policyNotes: [], handover: [], error: null, requests: [] } };
    };
    await user.click(screen.getByTestId('rotate-by-hand-halo-updated'));
    expect(callsOf('rotate_by_hand')[2].args?.action).toEqual({ kind: 'haloUpdated' });
  });

  it('makes a certificate, shows the .cer to upload, and proves it on "I uploaded it"', async () => {
    const p = profile();
    p.client_id = '22222222-3333-4444-5555-666666666666';
    p.credential = { ...p.credential, kind: 'certificate', thumbprint: 'AA11' };
    const certRotation: RotationInProgress = {
      ...rotation,
      kind: 'certificate',
      state: 'stored_as_next',
      old_hint: null,
      new_hint: null,
      old_thumbprint: 'AA11',
      new_thumbprint: 'CC33',
      new_certificate_file: '/certs/Acme-r1.pfx',
    };
    handlers.rotation_view = () => ({
      plan: { app: 'main', kind: 'certificate', current: 'certificate AA11', months: 12, steps: [], halo: [], requests: [] },
      blocked: null,
      inProgress: null,
      resume: null,
      halo: [],
    });
    handlers.rotation_by_hand_view = (args) =>
      (args?.profile as Profile).rotation
        ? {
            plan: null,
            blocked: null,
            inProgress: (args?.profile as Profile).rotation,
            resume: {
              state: 'stored_as_next',
              stateLabel: 'waiting for the new .cer to be uploaded in the portal',
              canFinish: true,
              canRollBack: true,
              advice: 'Upload the .cer in the portal, then finish.',
            },
            halo: [],
            rollbackHandover: ['If you uploaded the new certificate (thumbprint CC33): delete it.'],
            upload: 'In … > Certificates: Upload certificate, pick /certs/Acme-r1.cer',
          }
        : {
            ...handPlan,
            plan: {
              ...handPlan.plan!,
              kind: 'certificate',
              steps: [{ reaches: 'stored_as_next', what: 'Upload certificate, pick the new .cer', rollback: 'delete it' }],
            },
          };
    handlers.rotate_by_hand = (args) => ({
      profile: { ...(args?.profile as Profile), rotation: certRotation },
      report: { ok: true, rotation: certRotation, record: null, rolledBack: false, steps: [], halo: [], policyNotes: [], handover: [], error: null, requests: [] },
    });
    const user = userEvent.setup();
    render(RotatePanel, { profile: p });
    await user.click(await screen.findByTestId('rotate-by-hand'));
    expect((await screen.findByTestId('rotate-by-hand-checklist')).textContent).toContain('Upload certificate');
    expect(screen.queryByTestId('rotate-by-hand-value')).toBeNull();
    await user.click(screen.getByTestId('rotate-by-hand-start'));
    expect((await screen.findByTestId('rotate-by-hand-upload')).textContent).toContain('/certs/Acme-r1.cer');
    const sent = callsOf('rotate_by_hand')[0].args;
    expect(sent?.secret).toBeNull();
    expect(sent?.action).toEqual({ kind: 'begin', app: 'main', expiresOn: '2027-11-30' });
    expect(screen.getByTestId('rotate-by-hand-copy').textContent).toContain('.pfx password');
    expect(screen.queryByTestId('rotate-by-hand-halo-updated')).toBeNull();
    await user.click(screen.getByTestId('rotate-by-hand-uploaded'));
    expect(callsOf('rotate_by_hand')[1].args?.action).toEqual({ kind: 'uploaded' });
  });
});
