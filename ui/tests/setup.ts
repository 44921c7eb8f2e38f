import '@testing-library/jest-dom/vitest';
import { beforeEach } from 'vitest';
import { forgetAll } from '../src/lib/kept.svelte';

// jsdom lays nothing out and implements no scrolling: the wizard's scroll calls are stubbed
// (tests that care replace them with spies).
window.scrollTo = () => {};
Element.prototype.scrollIntoView = function () {};

// What the app keeps between screens lives for the app's run; each test is a new run.
beforeEach(() => forgetAll());
