// The only module that talks to the Rust side. Every command is typed against the
// ts-rs bindings generated from the engine; errors arrive as `{ code, message }`.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { CloudInfo } from './bindings/CloudInfo';
import type { Explanation } from './bindings/Explanation';
import type { CredentialStatus } from './bindings/CredentialStatus';
import type { Plan } from './bindings/Plan';
import type { Profile } from './bindings/Profile';
import type { ProfileSummary } from './bindings/ProfileSummary';
import type { SsoProgress } from './bindings/SsoProgress';
import type { ApplyRequest } from './bindings/ApplyRequest';
import type { ApplyStep } from './bindings/ApplyStep';
import type { CertificateRequest } from './bindings/CertificateRequest';
import type { ConsentProgress } from './bindings/ConsentProgress';
import type { ConsentRole } from './bindings/ConsentRole';
import type { DoctorReport } from './bindings/DoctorReport';
import type { SecretExpiryOptions } from './bindings/SecretExpiryOptions';
import type { FixAction } from './bindings/FixAction';
import type { GraphSigninProgress } from './bindings/GraphSigninProgress';
import type { SandboxInfo } from './bindings/SandboxInfo';
import type { Tracker } from './bindings/Tracker';
import type { CustomerPage } from './bindings/CustomerPage';
import type { CustomerQuery } from './bindings/CustomerQuery';
import type { ExportOutcome } from './bindings/ExportOutcome';
import type { ImportSummary } from './bindings/ImportSummary';
import type { PreviewProgress } from './bindings/PreviewProgress';
import type { SyncPreview } from './bindings/SyncPreview';
import type { AppInfo } from './bindings/AppInfo';
import type { AppliedRegistration } from './bindings/AppliedRegistration';
import type { CertificateCreated } from './bindings/CertificateCreated';
import type { CertificateImported } from './bindings/CertificateImported';
import type { CommandError } from './bindings/CommandError';
import type { ConsentCaptured } from './bindings/ConsentCaptured';
import type { ErrorCode } from './bindings/ErrorCode';
import type { GraphSignedIn } from './bindings/GraphSignedIn';
import type { Selection } from './bindings/Selection';
import type { SsoTestRun } from './bindings/SsoTestRun';
import type { StoredSecret } from './bindings/StoredSecret';
import type { CustomerApp } from './bindings/CustomerApp';
import type { TenantsAllowed } from './bindings/TenantsAllowed';
import type { TenantsImported } from './bindings/TenantsImported';
import type { CopiedValue } from './bindings/CopiedValue';
import type { StoredValue } from './bindings/StoredValue';
import type { RotateAction } from './bindings/RotateAction';
import type { RotatedCredential } from './bindings/RotatedCredential';
import type { RotationView } from './bindings/RotationView';
import type { RotateByHandAction } from './bindings/RotateByHandAction';
import type { RotationByHandView } from './bindings/RotationByHandView';

// The shell's own answers (src-tauri/src/models.rs) and its error, generated like the rest.
export type { AppInfo } from './bindings/AppInfo';
export type { AppliedRegistration } from './bindings/AppliedRegistration';
export type { CertificateCreated } from './bindings/CertificateCreated';
export type { CertificateImported } from './bindings/CertificateImported';
export type { ConsentCaptured } from './bindings/ConsentCaptured';
export type { GraphSignedIn } from './bindings/GraphSignedIn';
export type { SsoTestRun } from './bindings/SsoTestRun';
export type { StoredSecret } from './bindings/StoredSecret';
export type { TenantsAllowed } from './bindings/TenantsAllowed';
export type { TenantsImported } from './bindings/TenantsImported';
export type { ErrorCode } from './bindings/ErrorCode';

/**
 * A command failure as the Rust side reports it (`CommandError`, its `code` one of the
 * generated {@link ErrorCode}s), or `unknown` for a rejection that did not come from a
 * command. Match on `code`, never on `message`.
 */
export type AppError = CommandError | { code: 'unknown'; message: string };

/** Normalises anything a rejected `invoke` can throw into an {@link AppError}. */
export function toAppError(e: unknown): AppError {
  if (e && typeof e === 'object' && 'message' in e) {
    const o = e as { code?: unknown; message?: unknown };
    const message = String(o.message);
    // Only the shell's `Error` has a string `code`, and its codes are the generated union.
    return typeof o.code === 'string' ? { code: o.code as ErrorCode, message } : { code: 'unknown', message };
  }
  if (typeof e === 'string') return { code: 'unknown', message: e };
  return { code: 'unknown', message: 'The command failed without saying why.' };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toAppError(e);
  }
}

export const api = {
  listProfiles: () => call<ProfileSummary[]>('list_profiles'),
  newProfile: (name: string) => call<Profile>('new_profile', { name }),
  loadProfile: (id: string) => call<Profile>('load_profile', { id }),
  saveProfile: (profile: Profile) => call<Profile>('save_profile', { profile }),
  deleteProfile: (id: string) => call<null>('delete_profile', { id }),
  planProfile: (profile: Profile) => call<Plan>('plan_profile', { profile }),
  /** What pasted error text means (the engine's catalogue); `profile` adds the values to compare. */
  explainError: (text: string, profile: Profile | null) => call<Explanation>('explain_error', { text, profile }),
  listClouds: () => call<CloudInfo[]>('list_clouds'),
  openConsentLink: (profile: Profile) => call<null>('open_consent_link', { profile }),
  copyText: (text: string) => call<null>('copy_text', { text }),
  /** Rust copies the keychain's value to the clipboard; the webview never sees it. */
  copyStoredValue: (profile: Profile, which: StoredValue) =>
    call<CopiedValue>('copy_stored_value', { profile, which }),
  /** The engine's verdict on a secret as typed (the Secret ID pasted, whitespace), or null. */
  checkSecretTyped: (secret: string) => call<AppError | null>('check_secret_typed', { secret }),
  credentialStatus: (profile: Profile) => call<CredentialStatus>('credential_status', { profile }),
  /** The one call that carries a secret: straight from the password box to the keychain. */
  storeSecret: (profile: Profile, secret: string, expiresOn: string | null) =>
    call<StoredSecret>('store_secret', { profile, secret, expiresOn }),
  /** CSP's Partner Center app has its own keychain entry, hint and expiry. */
  appCredentialStatus: (profile: Profile, app: CustomerApp) =>
    call<CredentialStatus>('app_credential_status', { profile, app }),
  storeAppSecret: (profile: Profile, app: CustomerApp, secret: string, expiresOn: string | null) =>
    call<StoredSecret>('store_app_secret', { profile, app, secret, expiresOn }),
  runSsoTest: (profile: Profile) => call<SsoTestRun>('run_sso_test', { profile }),
  cancelBrowserFlow: () => call<null>('cancel_browser_flow'),
  /** Records the pass `passId` (from {@link SsoTestRun}); the shell accepts each pass once. */
  markVerified: (profile: Profile, passId: string) => call<Profile>('mark_verified', { profile, passId }),
  graphSignIn: (profile: Profile) => call<GraphSignedIn>('graph_sign_in', { profile }),
  graphSignOut: () => call<null>('graph_sign_out'),
  applyRegistration: (profile: Profile, request: ApplyRequest) =>
    call<AppliedRegistration>('apply_registration', { profile, request }),
  checkRegistration: (profile: Profile) => call<DoctorReport>('check_registration', { profile }),
  fixRegistration: (profile: Profile, action: FixAction) =>
    call<AppliedRegistration>('fix_registration', { profile, action }),
  /** Rotation (issue 15): the plan, or an interrupted rotation's choices — the engine's view. */
  rotationView: (profile: Profile, app: CustomerApp, months: number) =>
    call<RotationView>('rotation_view', { profile, app, months }),
  /** Begin, "Halo is updated" or roll back; needs the Graph sign-in. Returns the saved profile. */
  rotateCredential: (profile: Profile, action: RotateAction) =>
    call<RotatedCredential>('rotate_credential', { profile, action }),
  /** Rust copies the rotation's new secret to the clipboard; the webview never sees it. */
  copyNextSecret: (profile: Profile) => call<CopiedValue>('copy_next_secret', { profile }),
  /** Rotation by hand (no Graph rights): the portal checklist, or the by-hand rotation in progress. */
  rotationByHandView: (profile: Profile, app: CustomerApp) =>
    call<RotationByHandView>('rotation_by_hand_view', { profile, app }),
  /** The pasted Value goes straight from its box to the keychain (`secret`, only with "begin"). */
  rotateByHand: (profile: Profile, action: RotateByHandAction, secret: string | null) =>
    call<RotatedCredential>('rotate_by_hand', { profile, action, secret }),
  /** The expiry chooser for a new secret: dated choices and the range a typed date must fall in. */
  secretExpiryOptions: () => call<SecretExpiryOptions>('secret_expiry_options'),
  createCertificate: (profile: Profile, request: CertificateRequest) =>
    call<CertificateCreated>('create_certificate', { profile, request }),
  /** The .pfx bytes and its password go to Rust once; the password box is then emptied. */
  importCertificate: (profile: Profile, pfx: number[], password: string) =>
    call<CertificateImported>('import_certificate', { profile, pfx, password }),
  exportReminder: (profile: Profile) => call<string>('export_reminder', { profile }),
  consentRoles: () => call<ConsentRole[]>('consent_roles'),
  captureConsent: (profile: Profile, tenant: string | null) =>
    call<ConsentCaptured>('capture_consent', { profile, tenant }),
  tenantTracker: (profile: Profile) => call<Tracker>('tenant_tracker', { profile }),
  /** The tenants a consent run goes through, in order: the engine's selection (as the CLI's). */
  selectTenants: (profile: Profile, selection: Selection) => call<string[]>('select_tenants', { profile, selection }),
  importTenants: (profile: Profile, text: string) => call<TenantsImported>('import_tenants', { profile, text }),
  removeTenant: (profile: Profile, tenant: string) => call<Profile>('remove_tenant', { profile, tenant }),
  allowConsentedTenants: (profile: Profile) => call<TenantsAllowed>('allow_consented_tenants', { profile }),
  exportTenants: (profile: Profile) => call<string>('export_tenants', { profile }),
  exportScript: (profile: Profile, flavor: string) => call<string>('export_script', { profile, flavor }),
  /** One page of the customer list: the engine searches, filters, sorts and counts (cached cards). */
  customerPage: (query: CustomerQuery) => call<CustomerPage>('customer_page', { query }),
  exportReport: (profile: Profile) => call<string>('export_report', { profile }),
  /** The Teams app package (portal as a personal tab) written to Downloads; its path. */
  exportTeamsPackage: (profile: Profile, version: string | null = null) =>
    call<string>('export_teams_package', { profile, version }),
  exportProfiles: () => call<ExportOutcome>('export_profiles'),
  importProfiles: (text: string, replace: string[] | null = null) =>
    call<ImportSummary>('import_profiles', { text, replace }),
  appInfo: () => call<AppInfo>('app_info'),
  syncPreview: (profile: Profile) => call<SyncPreview>('sync_preview', { profile }),
  exportSyncCsv: (profile: Profile) => call<string>('export_sync_csv', { profile }),
  onSyncProgress: (handler: (p: PreviewProgress) => void): Promise<UnlistenFn> =>
    listen<PreviewProgress>('sync-progress', (e) => handler(e.payload)),
  startSandbox: () => call<SandboxInfo>('start_sandbox'),
  newPracticeProfile: (name: string) => call<Profile>('new_practice_profile', { name }),
  openSandboxPortal: () => call<null>('open_sandbox_portal'),
  onGraphSignin: (handler: (p: GraphSigninProgress) => void): Promise<UnlistenFn> =>
    listen<GraphSigninProgress>('graph-signin', (e) => handler(e.payload)),
  onApplyStep: (handler: (s: ApplyStep) => void): Promise<UnlistenFn> =>
    listen<ApplyStep>('apply-step', (e) => handler(e.payload)),
  onConsentProgress: (handler: (p: ConsentProgress) => void): Promise<UnlistenFn> =>
    listen<ConsentProgress>('consent-progress', (e) => handler(e.payload)),
  /** Progress of the running SSO test. */
  onSsoProgress: (handler: (p: SsoProgress) => void): Promise<UnlistenFn> =>
    listen<SsoProgress>('sso-progress', (e) => handler(e.payload)),
};
