// The consent tracker with 500 customer tenants (issue 4: "scales to 500 tenants without
// freezing the UI"): time to render the list and to scroll through it, in jsdom. Prints
// figures (`npm run bench`); not a test. The list is windowed, so both should stay far
// below a frame budget regardless of the tenant count.
import { render, screen, cleanup } from '@testing-library/svelte';
import { bench, describe, vi } from 'vitest';
import type { Tracker } from '../src/lib/bindings/Tracker';
import ConsentTracker from '../src/components/ConsentTracker.svelte';
import { profile } from '../tests/fixtures';
import { handlers } from '../tests/mock';

vi.mock('@tauri-apps/api/core', async () => await import('../tests/mock'));

function tracker(n: number): Tracker {
  const rows = Array.from({ length: n }, (_, i) => ({
    tenant: `customer${i}.onmicrosoft.com`,
    name: `Customer ${i}`,
    status: (['pending', 'consented', 'failed', 'declined'] as const)[i % 4],
    tenantId: null,
    aadsts: i % 4 === 2 ? 65001 : null,
    hint: null,
    message: null,
    updatedAt: null,
    consentUrl: `https://login.microsoftonline.com/customer${i}.onmicrosoft.com/v2.0/adminconsent?client_id=x`,
  }));
  return {
    rows,
    counts: { pending: n / 4, consented: n / 4, failed: n / 4, declined: n / 4 },
    linksUnavailable: null,
  };
}

for (const n of [500, 5000]) {
  describe(`consent tracker, ${n} tenants`, () => {
    bench(
      'render until the first rows show',
      async () => {
        handlers.tenant_tracker = () => tracker(n);
        render(ConsentTracker, { profile: profile() });
        await screen.findAllByTestId('tracker-row');
        cleanup();
      },
      { iterations: 10 },
    );

    bench(
      'scroll to the end',
      async () => {
        handlers.tenant_tracker = () => tracker(n);
        render(ConsentTracker, { profile: profile() });
        const list = await screen.findByTestId('tracker-list');
        for (let top = 0; top <= n * 48; top += 4800) {
          list.scrollTop = top;
          list.dispatchEvent(new Event('scroll'));
          await Promise.resolve();
        }
        cleanup();
      },
      { iterations: 5 },
    );
  });
}
