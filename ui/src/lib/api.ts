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
import type { SsoReport } from './bindings/SsoReport';

/** The answer to `store_secret`: the saved profile and what the keychain now holds. */
export interface StoredSecret {
  profile: Profile;
  status: CredentialStatus;
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
  credentialStatus: (profile: Profile) => call<CredentialStatus>('credential_status', { profile }),
  /** The one call that carries a secret: straight from the password box to the keychain. */
  storeSecret: (profile: Profile, secret: string, expiresOn: string | null) =>
    call<StoredSecret>('store_secret', { profile, secret, expiresOn }),
  runSsoTest: (profile: Profile) => call<SsoReport>('run_sso_test', { profile }),
  cancelBrowserFlow: () => call<null>('cancel_browser_flow'),
  markVerified: (profile: Profile) => call<Profile>('mark_verified', { profile }),
  /** Progress of the running SSO test. */
  onSsoProgress: (handler: (p: SsoProgress) => void): Promise<UnlistenFn> =>
    listen<SsoProgress>('sso-progress', (e) => handler(e.payload)),
};
