import type { Hook, HookInput } from '../domain';

/** What running a hook once produced, before the engine applies the failure mode. */
export interface HookRunResult {
  status: 'passed' | 'failed' | 'timed_out' | 'error';
  exitCode: number | null;
  stdout: string | null;
  stderr: string | null;
  responseStatus: number | null;
  responseBody: string | null;
  errorMessage: string | null;
  /** From a script's last-line `{ "status", "message", "data" }` or a webhook's JSON body. */
  message?: string;
  data?: unknown;
  /** True when captured output was cut at the capture limit. */
  truncated: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

export type WebhookHook = Extract<Hook, { type: 'webhook' }>;
export type ScriptHook = Extract<Hook, { type: 'shell' | 'python' }>;

/** Resolves a `secretRef` (webhook auth) to its value; never logged. */
export interface SecretResolver {
  resolve(secretRef: string): Promise<string>;
}

export interface WebhookSender {
  send(hook: WebhookHook, input: HookInput, signingSecret: string): Promise<HookRunResult>;
}

export interface ScriptRunner {
  run(hook: ScriptHook, input: HookInput): Promise<HookRunResult>;
}
