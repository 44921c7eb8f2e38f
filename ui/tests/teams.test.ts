// Issue 14 point 8: the portal as a Teams tab. The panel renders what the plan says and asks
// the engine for the package; it holds no rule of its own.
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { TeamsTab } from '../src/lib/bindings/TeamsTab';
import TeamsTabPanel from '../src/components/TeamsTabPanel.svelte';
import { issue, profile } from './fixtures';
import { callsOf, handlers, reset } from './mock';

vi.mock('@tauri-apps/api/core', async () => await import('./mock'));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }));

const ready: TeamsTab = {
  ready: {
    teamsAppId: 'a31b7e76-e378-5026-a5a2-995090c2223c',
    portalUrl: 'https://acme.halopsa.com/portal',
    applicationIdUri: 'api://acme.halopsa.com/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9',
    scopeName: 'access_as_user',
    scopeId: '0b7e2a9c-43d1-4f86-a5c0-8e19d4f36a27',
    preauthorizedClients: [],
    validDomains: ['acme.halopsa.com'],
    registrationSteps: ['Expose an API > Application ID URI > Add: set it to api://acme.halopsa.com/x'],
    adminSteps: ['Teams apps > Manage apps > Upload new app > Upload'],
    notes: [],
  },
  blockers: [],
};

describe('TeamsTabPanel', () => {
  beforeEach(reset);

  it('shows the registration and admin steps and saves the package through the engine', async () => {
    handlers.export_teams_package = () => '/home/admin/Downloads/Acme Teams app.zip';
    const user = userEvent.setup();
    render(TeamsTabPanel, { profile: profile(), tab: ready });
    expect(screen.getByTestId('teams-registration-steps').textContent).toContain('Application ID URI');
    expect(screen.getByTestId('teams-admin-steps').textContent).toContain('Upload new app');
    await user.clear(screen.getByTestId('teams-version'));
    await user.type(screen.getByTestId('teams-version'), '1.0.1');
    await user.click(screen.getByTestId('export-teams-package'));
    expect((await screen.findByTestId('teams-package-saved')).textContent).toContain('Acme Teams app.zip');
    expect(callsOf('export_teams_package')[0].args?.version).toBe('1.0.1');
  });

  it("shows the engine's error as it is", async () => {
    handlers.export_teams_package = () => {
      throw { code: 'teams.profile', message: 'version: The Teams app version "1.0" is not MAJOR.MINOR.PATCH' };
    };
    const user = userEvent.setup();
    render(TeamsTabPanel, { profile: profile(), tab: ready });
    await user.click(screen.getByTestId('export-teams-package'));
    expect((await screen.findByTestId('teams-package-error')).textContent).toContain('MAJOR.MINOR.PATCH');
  });

  it('lists what blocks the package instead of the button', () => {
    const blocked: TeamsTab = {
      ready: null,
      blockers: [issue({ field: 'client_id', step: 1, code: 'teams.client_id', message: 'No client ID yet.' })],
    };
    render(TeamsTabPanel, { profile: profile(), tab: blocked });
    expect(screen.getByTestId('teams-blockers').textContent).toContain('No client ID yet.');
    expect(screen.queryByTestId('export-teams-package')).toBeNull();
  });
});
