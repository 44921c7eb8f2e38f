// Presentation helpers over plan.issues. No rules here: the engine decides what is wrong,
// these only sort its findings onto fields and steps.
import type { Issue } from './bindings/Issue';
import type { Plan } from './bindings/Plan';

/** A DOM id for a profile field name such as `sso.federated_domain` or `allowed_tenants[2]`. */
export function fieldDomId(field: string): string {
  return 'f-' + field.replace(/[^A-Za-z0-9_-]/g, '-');
}

/** The id of the element listing a field's issues (for aria-describedby). */
export function issuesDomId(field: string): string {
  return fieldDomId(field) + '-issues';
}

/** Issues reported on exactly this field. */
export function issuesFor(plan: Plan | null, field: string): Issue[] {
  return plan ? plan.issues.filter((i) => i.field === field) : [];
}

/** True when the engine reports an error on this field. */
export function hasError(plan: Plan | null, field: string): boolean {
  return issuesFor(plan, field).some((i) => i.severity === 'error');
}

/** Attributes that tie an input to its issues. */
export function fieldA11y(
  plan: Plan | null,
  field: string,
  hintId?: string,
): { 'aria-invalid': 'true' | undefined; 'aria-describedby': string | undefined } {
  const ids: string[] = [];
  if (hintId) ids.push(hintId);
  if (issuesFor(plan, field).length > 0) ids.push(issuesDomId(field));
  return {
    'aria-invalid': hasError(plan, field) ? 'true' : undefined,
    'aria-describedby': ids.length ? ids.join(' ') : undefined,
  };
}

/** Issues of one step. */
export function issuesOfStep(plan: Plan | null, step: number): Issue[] {
  return plan ? plan.issues.filter((i) => i.step === step) : [];
}

/**
 * Issues of a step whose field is not shown next to an input on that step's screen,
 * so the step can list them itself and none goes unseen.
 */
export function unplacedIssues(plan: Plan | null, step: number, shown: (field: string) => boolean): Issue[] {
  return issuesOfStep(plan, step).filter((i) => !shown(i.field));
}

export interface StepCounts {
  errors: number;
  warnings: number;
}

/** Error and warning counts of one step (info notes are not counted). */
export function stepCounts(plan: Plan | null, step: number): StepCounts {
  let errors = 0;
  let warnings = 0;
  for (const i of issuesOfStep(plan, step)) {
    if (i.severity === 'error') errors++;
    else if (i.severity === 'warning') warnings++;
  }
  return { errors, warnings };
}

/** Error and warning counts of the whole plan. */
export function totalCounts(plan: Plan | null): StepCounts {
  let errors = 0;
  let warnings = 0;
  for (const i of plan?.issues ?? []) {
    if (i.severity === 'error') errors++;
    else if (i.severity === 'warning') warnings++;
  }
  return { errors, warnings };
}

/**
 * The plan without its "required" findings (codes ending in `.required`): what a new
 * customer's screens show until the first edit or "Next", so an empty form opens without a
 * wall of errors. Every other finding (a bad value, a warning) is shown at once.
 */
export function withoutRequired(plan: Plan | null): Plan | null {
  if (!plan || !plan.issues.some((i) => i.code.endsWith('.required'))) return plan;
  return { ...plan, issues: plan.issues.filter((i) => !i.code.endsWith('.required')) };
}
