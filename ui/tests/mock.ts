// A stand-in for the Tauri IPC: each test sets handlers per command.
import { vi } from 'vitest';

export type Handler = (args: Record<string, unknown> | undefined) => unknown;

export const handlers: Record<string, Handler> = {};
export const calls: { cmd: string; args: Record<string, unknown> | undefined }[] = [];

export const invoke = vi.fn(async (cmd: string, args?: Record<string, unknown>) => {
  calls.push({ cmd, args });
  const h = handlers[cmd];
  if (!h) throw { code: 'test.unhandled', message: `no handler for ${cmd}` };
  return h(args);
});

export function reset(): void {
  for (const k of Object.keys(handlers)) delete handlers[k];
  calls.length = 0;
  invoke.mockClear();
}

export function callsOf(cmd: string) {
  return calls.filter((c) => c.cmd === cmd);
}
