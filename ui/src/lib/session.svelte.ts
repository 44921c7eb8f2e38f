// One open profile: the single source of truth for everything the wizard shows.
//
// Edits go straight into `profile`. `changed()` (called from an effect that reads the
// whole profile) re-plans after PLAN_DELAY and autosaves after SAVE_DELAY. A save sends a
// snapshot and only takes id / created_at / updated_at back, so typing during a save is
// never overwritten. Saving does not depend on the plan being valid.
import { untrack } from 'svelte';
import { api } from './api';
import type { Plan } from './bindings/Plan';
import type { Profile } from './bindings/Profile';
import { reportError } from './errors.svelte';

export const PLAN_DELAY = 150;
export const SAVE_DELAY = 600;

export type SaveStatus = 'saved' | 'pending' | 'saving' | 'failed';

/** The part of a profile that edits change (timestamps are the store's business). */
function contentKey(p: Profile): string {
  return JSON.stringify({ ...p, created_at: null, updated_at: null });
}

export class ProfileSession {
  profile: Profile = $state() as Profile;
  plan: Plan | null = $state(null);
  saveStatus: SaveStatus = $state('saved');
  /** True once anything was edited in this session. */
  edited = $state(false);

  #lastSavedKey: string;
  #openedKey: string;
  #lastPlannedKey = '';
  #planTimer: ReturnType<typeof setTimeout> | undefined;
  #saveTimer: ReturnType<typeof setTimeout> | undefined;
  #planSeq = 0;
  #saving: Promise<void> | null = null;
  #closed = false;

  /**
   * `plan`, when given, is the engine's plan of `initial`: shown from the first frame (the
   * practice banner, the step counts) instead of after the first round trip.
   */
  constructor(initial: Profile, plan: Plan | null = null) {
    this.profile = initial;
    this.#lastSavedKey = contentKey(initial);
    this.#openedKey = this.#lastSavedKey;
    if (plan) {
      this.plan = plan;
      this.#lastPlannedKey = this.#lastSavedKey;
    }
  }

  /** Call whenever the profile may have changed; reads the whole profile (so effects track it). */
  changed(): void {
    if (this.#closed) return;
    const key = contentKey($state.snapshot(this.profile) as Profile);
    // Only the profile is a dependency: a status change must not look like an edit.
    untrack(() => this.#schedule(key));
  }

  #schedule(key: string): void {
    if (key !== this.#openedKey && !this.edited) this.edited = true;
    if (key !== this.#lastPlannedKey) {
      clearTimeout(this.#planTimer);
      // The first plan comes at once; later ones wait for typing to pause.
      const delay = this.#lastPlannedKey === '' ? 0 : PLAN_DELAY;
      this.#lastPlannedKey = key;
      this.#planTimer = setTimeout(() => void this.replan(), delay);
    }
    if (key !== this.#lastSavedKey) {
      if (this.saveStatus !== 'saving') this.saveStatus = 'pending';
      clearTimeout(this.#saveTimer);
      this.#saveTimer = setTimeout(() => void this.save(), SAVE_DELAY);
    }
  }

  /** Asks the engine for a fresh plan; stale answers are dropped. */
  async replan(): Promise<void> {
    const seq = ++this.#planSeq;
    try {
      const plan = await api.planProfile($state.snapshot(this.profile) as Profile);
      if (seq === this.#planSeq && !this.#closed) this.plan = plan;
    } catch (e) {
      if (seq === this.#planSeq) reportError(e);
    }
  }

  /** Saves now (waiting for a save in flight first). */
  async save(): Promise<void> {
    clearTimeout(this.#saveTimer);
    while (this.#saving) await this.#saving;
    const snapshot = $state.snapshot(this.profile) as Profile;
    const key = contentKey(snapshot);
    if (key === this.#lastSavedKey) {
      if (this.saveStatus !== 'failed') this.saveStatus = 'saved';
      return;
    }
    this.saveStatus = 'saving';
    this.#saving = (async () => {
      try {
        const saved = await api.saveProfile(snapshot);
        // Only what the store decides comes back; fields typed meanwhile stay as typed.
        this.profile.id = saved.id;
        this.profile.created_at = saved.created_at;
        this.profile.updated_at = saved.updated_at;
        this.#lastSavedKey = key;
        this.saveStatus = contentKey($state.snapshot(this.profile) as Profile) === key ? 'saved' : 'pending';
      } catch (e) {
        this.saveStatus = 'failed';
        reportError(e);
      }
    })();
    try {
      await this.#saving;
    } finally {
      this.#saving = null;
    }
    if ((this.saveStatus as SaveStatus) === 'pending' && !this.#closed) {
      this.#saveTimer = setTimeout(() => void this.save(), SAVE_DELAY);
    }
  }

  /**
   * Saves anything outstanding before leaving the wizard. Returns false (and keeps the
   * session open, edits intact) when the save failed.
   */
  async close(): Promise<boolean> {
    clearTimeout(this.#saveTimer);
    await this.save();
    if (this.saveStatus !== 'saved') return false;
    this.#closed = true;
    clearTimeout(this.#planTimer);
    clearTimeout(this.#saveTimer);
    return true;
  }
}
