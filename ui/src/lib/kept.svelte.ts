// What a screen shows after something slow (the Graph sign-in, "Create it for me", a check,
// the SSO test) must still be there after moving to another step and back. Each step's
// component unmounts when the wizard moves on, so these live here, at module level, per
// customer, for as long as the app runs.
//
// Deliberately left out: nothing here is written to disk (a restart starts clean, as the
// shell's own Graph session and SSO passes do), and nothing here is a secret — only reports.
import type { AppError, GraphSignedIn } from './api';
import type { ApplyReport } from './bindings/ApplyReport';
import type { ApplyStep } from './bindings/ApplyStep';
import type { DoctorReport } from './bindings/DoctorReport';
import type { LastTest as RecordedTest } from './bindings/LastTest';
import type { SsoReport } from './bindings/SsoReport';

/** Step 2's "Do it for me": the sign-in, the options and the last results. */
export class GraphKept {
  signedIn = $state<GraphSignedIn | null>(null);
  busy = $state<'signin' | 'apply' | 'doctor' | 'fix' | null>(null);
  error = $state<AppError | null>(null);
  steps = $state<ApplyStep[]>([]);
  report = $state<ApplyReport | null>(null);
  doctor = $state<DoctorReport | null>(null);
  addSecret = $state(true);
  grantConsent = $state(true);
  removeWizardUri = $state(false);
  /** Step 1's "Create it for me" asked for the chain: step 2 starts it when it opens. */
  createRequested = false;

  constructor(addSecret: boolean) {
    this.addSecret = addSecret;
  }
}

/** Test & save: the last finished test and what was done with it. */
export class SsoKept {
  report = $state<SsoReport | null>(null);
  /** The shell's id for the report's pass: "Save as verified" spends it (once). */
  passId = $state<string | null>(null);
  failure = $state<AppError | null>(null);
  justVerified = $state(false);
  reportPath = $state<string | null>(null);
  /** Why the test's outcome could not be saved with it (the report is still good). */
  saveError = $state<AppError | null>(null);
  /** "Create it for me" made the registration and asked for this test: it runs on arrival. */
  runRequested = false;
  /** The shown test is the one "Create it for me" went on to. */
  chained = $state(false);
}

// Registries, not state: what a screen renders is each entry's own $state fields, and an
// entry is made before the screen that reads it.
/* eslint-disable svelte/prefer-svelte-reactivity */
const graphs = new Map<string, GraphKept>();
const tests = new Map<string, SsoKept>();
const ticks = new Map<string, Record<string, boolean>>();
/* eslint-enable svelte/prefer-svelte-reactivity */

/** Step 6: the settings-sheet rows the admin ticked as entered in Halo (by screen and setting). */
export function sheetTicks(profileId: string): Record<string, boolean> {
  const t = ticks.get(profileId);
  if (t) return t;
  const fresh: Record<string, boolean> = $state({});
  ticks.set(profileId, fresh);
  return fresh;
}

/** The customer's Graph state, made on first use (`addSecret` is then the default). */
export function graphKept(profileId: string, addSecret: boolean): GraphKept {
  let g = graphs.get(profileId);
  if (!g) {
    g = new GraphKept(addSecret);
    graphs.set(profileId, g);
  }
  return g;
}

/**
 * The shell holds one Graph sign-in at a time: signing in for this customer signs every
 * other one out (their results stay).
 */
export function signedInOnlyFor(profileId: string): void {
  for (const [id, g] of graphs) if (id !== profileId) g.signedIn = null;
}

/**
 * Step 1's "Create it for me": the wizard moves to step 2, which signs in to Graph if
 * needed and creates the registration; once the engine says the test follows
 * (`testNext`), Test & save runs it ({@link requestTest}).
 */
export function requestCreate(profileId: string, addSecret: boolean): void {
  graphKept(profileId, addSecret).createRequested = true;
}

/** Whether a "Create it for me" waits to start; answers true once per request. */
export function takeCreateRequest(profileId: string): boolean {
  const g = graphs.get(profileId);
  if (!g?.createRequested) return false;
  g.createRequested = false;
  return true;
}

/** "Create it for me" made the registration: Test & save runs the SSO test when it opens. */
export function requestTest(profileId: string): void {
  ssoKept(profileId).runRequested = true;
}

/** Whether a test waits to start; answers true once per request. */
export function takeTestRequest(profileId: string): boolean {
  const t = tests.get(profileId);
  if (!t?.runRequested) return false;
  t.runRequested = false;
  return true;
}

/** The customer's SSO test state, made on first use. */
export function ssoKept(profileId: string): SsoKept {
  let t = tests.get(profileId);
  if (!t) {
    t = new SsoKept();
    tests.set(profileId, t);
  }
  return t;
}

/** The outcome of the customer's last SSO test in this run of the app, for the customer list. */
export interface LastTest {
  ok: boolean;
  /** When it ran (the report's time), if known. */
  at: string | null;
  /** Why it failed: the engine's code and message. */
  code: string | null;
  message: string | null;
}

/**
 * The last test: this run's, else the one the profile recorded (`card`, from the customer
 * list; it survives a restart). This run's also covers a test that could not start.
 */
export function lastTest(profileId: string, card?: RecordedTest | null): LastTest | null {
  const recorded: LastTest | null = card
    ? { ok: card.ok, at: card.at, code: card.code ?? null, message: card.reason ?? null }
    : null;
  const t = tests.get(profileId);
  if (!t) return recorded;
  if (t.report) {
    return {
      ok: t.report.ok,
      at: t.report.testedAt ?? null,
      code: t.report.error?.code ?? null,
      message: t.report.error?.message ?? null,
    };
  }
  if (t.failure) return { ok: false, at: null, code: t.failure.code, message: t.failure.message };
  return recorded;
}

/** Forgets a customer (deleted, or its practice copy reset). */
export function forgetCustomer(profileId: string): void {
  graphs.delete(profileId);
  tests.delete(profileId);
  ticks.delete(profileId);
}

/** For tests: a fresh start. */
export function forgetAll(): void {
  graphs.clear();
  tests.clear();
  ticks.clear();
}
