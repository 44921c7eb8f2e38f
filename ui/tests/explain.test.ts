import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Explanation } from '../src/lib/bindings/Explanation';
import type { Profile } from '../src/lib/bindings/Profile';
import { dismissError } from '../src/lib/errors.svelte';
import Wizard from '../src/views/Wizard.svelte';
import ExplainError from '../src/components/ExplainError.svelte';
import { global, plan, profile } from './fixtures';
import { callsOf, handlers, reset } from './mock';

vi.mock('@tauri-apps/api/core', async () => await import('./mock'));

const redirect: Explanation = {
  recognised: true,
  note: null,
  findings: [
    {
      matched: 'AADSTS50011',
      name: 'RedirectUriMismatch',
      cause: 'The redirect URI is not registered on the app.',
      fix: 'Add it under Authentication.',
      step: 2,
      check: ['Registered for this customer: https://contoso.halopsa.com/auth'],
      known: true,
    },
  ],
};

beforeEach(() => {
  reset();
  dismissError();
  handlers.plan_profile = () => plan();
  handlers.save_profile = (a) => a!.profile as Profile;
});

describe('explain an error', () => {
  it("sends the pasted text with the open customer and renders the engine's findings, then goes to the step", async () => {
    handlers.explain_error = () => redirect;
    const user = userEvent.setup();
    render(Wizard, { initial: profile(), clouds: [global], onexit: vi.fn() });
    await user.click(screen.getByTestId('explain-open'));
    const dialog = await screen.findByTestId('explain-dialog');
    const run = within(dialog).getByTestId('explain-run');
    expect(run).toBeDisabled();
    await user.type(within(dialog).getByTestId('explain-text'), 'Sorry AADSTS50011 happened');
    await user.click(run);
    const finding = await within(dialog).findByTestId('explain-finding');
    // Focus moves to the answer, so a keyboard user lands on what it says.
    await waitFor(() => expect(within(dialog).getByTestId('explain-result')).toHaveFocus());
    expect(finding).toHaveTextContent('RedirectUriMismatch');
    expect(finding).toHaveTextContent('https://contoso.halopsa.com/auth');
    const sent = callsOf('explain_error')[0].args!;
    expect(sent.text).toBe('Sorry AADSTS50011 happened');
    expect((sent.profile as Profile).id).toBe(profile().id);
    await user.click(within(finding).getByTestId('explain-goto'));
    await waitFor(() => expect(screen.queryByTestId('explain-dialog')).toBeNull());
    expect(screen.getByRole('heading', { level: 2, name: 'Redirect URIs' })).toBeInTheDocument();
  });

  it('says plainly when nothing is recognised, and offers no step', async () => {
    handlers.explain_error = () => ({ recognised: false, findings: [], note: 'Nothing here is an error this tool knows.' });
    const user = userEvent.setup();
    render(ExplainError, {});
    await user.click(screen.getByTestId('explain-open'));
    await user.type(screen.getByTestId('explain-text'), 'the printer is on fire');
    await user.click(screen.getByTestId('explain-run'));
    expect(await screen.findByTestId('explain-note')).toHaveTextContent('Nothing here is an error this tool knows.');
    expect(screen.queryByTestId('explain-finding')).toBeNull();
    expect(callsOf('explain_error')[0].args!.profile).toBeNull();
  });
});
