// Test data shaped like the engine's output. The tests check UI behaviour, not engine rules.
import type { CloudInfo } from '../src/lib/bindings/CloudInfo';
import type { CredentialMeta } from '../src/lib/bindings/CredentialMeta';
import type { CustomerCard } from '../src/lib/bindings/CustomerCard';
import type { CustomerFilter } from '../src/lib/bindings/CustomerFilter';
import type { CustomerPage } from '../src/lib/bindings/CustomerPage';
import type { CustomerQuery } from '../src/lib/bindings/CustomerQuery';
import type { Issue } from '../src/lib/bindings/Issue';
import type { Plan } from '../src/lib/bindings/Plan';
import type { Profile } from '../src/lib/bindings/Profile';

/** An empty credential record, with `over` applied. */
export function noCredential(over: Partial<CredentialMeta> = {}): CredentialMeta {
  return {
    kind: 'none',
    expires_on: null,
    secret_hint: null,
    thumbprint: null,
    thumbprint_sha256: null,
    certificate_subject: null,
    key_bits: null,
    certificate_file: null,
    federated: null,
    ...over,
  };
}

export function profile(over: Partial<Profile> = {}): Profile {
  return {
    schema_version: 1,
    id: '7d0b1b7e-2f1a-4c1e-9a55-1b2c3d4e5f60',
    name: 'Contoso',
    cloud: 'global',
    authority: null,
    tenant_type: 'single',
    tenant_id: '',
    client_id: '',
    agent_url: '',
    portal_url: null,
    auth_url: null,
    sso_for: 'agents',
    public_signup: { variant: 'workforce', tenant_name: '', user_flow: '' },
    features: { import: false, csp: false },
    credential: noCredential(),
    sso: {
      published: false,
      auto_create_users: false,
      auto_redirect_agents: false,
      auto_redirect_users: false,
      use_unique_identifier: false,
      single_logout: false,
      sign_in_scope: 'restricted',
      federated_domain: null,
      graph_endpoint: null,
      remember_me: false,
      bypass_2fa: false,
      allow_2fa_with_sso: false,
    },
    allowed_tenants: [],
    admin_consent: null,
    customer_tenants: [],
    partner_center: { client_id: '', credential: noCredential(), admin_consent: null },
    sync: {
      technician_groups: [],
      user_groups: [],
      site_mappings: [],
      field_mappings: [{ entra: 'mail', halo: 'Email Address' }],
      matching_order: ['azure_id', 'email'],
      ignore_account_enabled: false,
      service_account_group: null,
      active_licences: [],
      interval_minutes: 30,
      map_last_sign_in: false,
    },
    verified: null,
    created_at: '2025-01-01T10:00:00Z',
    updated_at: '2025-01-01T10:00:00Z',
    ...over,
  };
}

export const global: CloudInfo = {
  id: 'global',
  label: 'Global (worldwide, incl. GCC)',
  loginHost: 'login.microsoftonline.com',
  graphHost: 'graph.microsoft.com',
  powershellEnvironment: 'Global',
  tokenExchangeAudience: 'api://AzureADTokenExchange',
};

export function issue(over: Partial<Issue> & Pick<Issue, 'field' | 'step'>): Issue {
  return {
    severity: 'error',
    code: `${over.field}.bad`,
    message: `${over.field} is wrong`,
    fix: `Fix ${over.field}.`,
    ...over,
  };
}

export function plan(over: Partial<Plan> = {}): Plan {
  return {
    valid: true,
    cloud: global,
    authority: 'https://login.microsoftonline.com',
    sandbox: false,
    createRegistration: false,
    effectivePortalUrl: null,
    registrationChecklist: [],
    redirectUris: [],
    federatedSetup: null,
    consent: null,
    cspScripts: null,
    partnerCenter: null,
    settingsSheet: [],
    publicSignup: null,
    issues: [],
    teamsTab: { ready: null, blockers: [] },
    ...over,
  };
}

/**
 * A stand-in for the engine's `customer_page` over `cards` (or a function giving the cards
 * now): the words of the search in the name, service desk URL or tenant ID, the filters,
 * and the page at offset/limit, in the cards' order. The real rules and their tests are the
 * engine's (`customer_list.rs`); this only lets the screen be driven.
 */
export function customerPages(cards: CustomerCard[] | (() => CustomerCard[])) {
  const keeps: Record<CustomerFilter, (c: CustomerCard) => boolean> = {
    expiring: (c) => ['within60', 'within30', 'within7', 'expired'].includes(c.expiry),
    failing: (c) => (c.lastTest !== null && !c.lastTest.ok) || c.consent.failed + c.consent.declined > 0,
    unverified: (c) => c.verifiedAt === null,
    sandbox: (c) => c.sandbox,
  };
  return (args: Record<string, unknown> | undefined): CustomerPage => {
    const q = args!.query as CustomerQuery;
    const all = typeof cards === 'function' ? cards() : cards;
    const words = q.search.toLowerCase().split(/\s+/).filter(Boolean);
    const matching = all
      .filter((c) => q.filters.every((f) => keeps[f](c)))
      .filter((c) => words.every((w) => `${c.name} ${c.agentUrl} ${c.tenantId}`.toLowerCase().includes(w)));
    const count = (f: CustomerFilter) => all.filter(keeps[f]).length;
    return {
      cards: matching.slice(q.offset, q.offset + q.limit),
      offset: q.offset,
      total: matching.length,
      customers: all.length,
      counts: { expiring: count('expiring'), failing: count('failing'), unverified: count('unverified'), sandbox: count('sandbox') },
      practiceId: all.find((c) => c.sandbox)?.id ?? null,
      unreadable: [],
      rotating: all.filter((c) => c.rotation).map((c) => c.name || 'an untitled customer'),
    };
  };
}
