/** The wizard's pages, in order. Steps 1–6 match `Issue.step`; 7 is "Test & save". */
export interface StepDef {
  n: number;
  title: string;
  testid: string;
  summary: string;
}

export const STEPS: StepDef[] = [
  { n: 1, title: 'Basics', testid: 'step-1', summary: 'Service desk, tenant and app registration' },
  { n: 2, title: 'Redirect URIs', testid: 'step-2', summary: 'What to register on the app' },
  { n: 3, title: 'Credential', testid: 'step-3', summary: 'How the service desk proves it is the app' },
  { n: 4, title: 'Admin consent', testid: 'step-4', summary: 'Grant the app its permissions' },
  { n: 5, title: 'CSP / GDAP', testid: 'step-5', summary: 'Microsoft CSP access to customer tenants' },
  { n: 6, title: 'SSO settings', testid: 'step-6', summary: 'What to set in the service desk' },
  { n: 7, title: 'Test & save', testid: 'step-test', summary: 'Prove the sign-in works' },
];

export const LAST_STEP = STEPS.length;
