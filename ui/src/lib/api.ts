// The only module that talks to the Rust side. Every command is typed against the
// ts-rs bindings generated from the engine; errors arrive as `{ code, message }`.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { CloudInfo } from './bindings/CloudInfo';
import type { CredentialStatus } from './bindings/CredentialStatus';
import type { Plan } from './bindings/Plan';
import type { Profile } from './bindings/Profile';
import type { ProfileSummary } from './bindings/ProfileSummary';
import type { SsoProgress } from './bindings/SsoProgress';
import type { ApplyReport } from './bindings/ApplyReport';
import type { ApplyRequest } from './bindings/ApplyRequest';
import type { ApplyStep } from './bindings/ApplyStep';
import type { AllowSummary } from './bindings/AllowSummary';
import type { CertificateInfo } from './bindings/CertificateInfo';
import type { CertificateRequest } from './bindings/CertificateRequest';
import type { ConsentOutcome } from './bindings/ConsentOutcome';
import type { ConsentProgress } from './bindings/ConsentProgress';
import type { ConsentRole } from './bindings/ConsentRole';
import type { CreatedCertificate } from './bindings/CreatedCertificate';
import type { DoctorReport } from './bindings/DoctorReport';
import type { ExpiryChoice } from './bindings/ExpiryChoice';
import type { FixAction } from './bindings/FixAction';
import type { GraphSigninProgress } from './bindings/GraphSigninProgress';
import type { MergeSummary } from './bindings/MergeSummary';
import type { SandboxInfo } from './bindings/SandboxInfo';
import type { TenantImport } from './bindings/TenantImport';
import type { Tracker } from './bindings/Tracker';
import type { Dashboard } from './bindings/Dashboard';
import type { ExportOutcome } from './bindings/ExportOutcome';
import type { ImportSummary } from './bindings/ImportSummary';
import type { PreviewProgress } from './bindings/PreviewProgress';
import type { SyncPreview } from './bindings/SyncPreview';
import type { SsoReport } from './bindings/SsoReport';
import type { StoredValue } from './bindings/StoredValue';

/** The answer to `store_secret`: the saved profile and what the keychain now holds. */
export interface StoredSecret {
  profile: Profile;
  status: CredentialStatus;
}

// Answers of the shell's own commands (src-tauri/src/models.rs): the saved profile plus
// what the engine reported.
export interface AppliedRegistration {
  report: ApplyReport;
  profile: Profile;
}
export interface GraphSignedIn {
  user: string | null;
  tenantId: string | null;
}
export interface CertificateCreated {
  profile: Profile;
  certificate: CreatedCertificate;
}
export interface CertificateImported {
  profile: Profile;
  info: CertificateInfo;
}
export interface ConsentCaptured {
  profile: Profile;
  outcome: ConsentOutcome;
}
export interface TenantsImported {
  profile: Profile;
  import: TenantImport;
  merge: MergeSummary;
}
export interface AppInfo {
  name: string;
  version: string;
  keychainService: string;
}
/** The answer to `run_sso_test`: the report and, for a pass, the id "Save as verified" takes once. */
export interface SsoTestRun {
  report: SsoReport;
  passId: string | null;
}
/** The answer to `copy_stored_value`: the clipboard is cleared after this many seconds. */
export interface CopiedValue {
  clearsAfterSeconds: number;
}
export interface TenantsAllowed {
  profile: Profile;
  summary: AllowSummary;
}

/** A command failure as the Rust side reports it. Match on `code`, never on `message`. */
export interface AppError {
  code: string;
  message: string;
}

/** Normalises anything a rejected `invoke` can throw into an {@link AppError}. */
export function toAppError(e: unknown): AppError {
  if (e && typeof e === 'object' && 'message' in e) {
    const o = e as { code?: unknown; message?: unknown };
    return {
      code: typeof o.code === 'string' ? o.code : 'unknown',
      message: String(o.message),
    };
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
  secretExpiryChoices: () => call<ExpiryChoice[]>('secret_expiry_choices'),
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
  importTenants: (profile: Profile, text: string) => call<TenantsImported>('import_tenants', { profile, text }),
  removeTenant: (profile: Profile, tenant: string) => call<Profile>('remove_tenant', { profile, tenant }),
  allowConsentedTenants: (profile: Profile) => call<TenantsAllowed>('allow_consented_tenants', { profile }),
  exportTenants: (profile: Profile) => call<string>('export_tenants', { profile }),
  exportScript: (profile: Profile, flavor: string) => call<string>('export_script', { profile, flavor }),
  dashboard: () => call<Dashboard>('dashboard'),
  exportReport: (profile: Profile) => call<string>('export_report', { profile }),
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
