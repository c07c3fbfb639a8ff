import type { Hook, HookInput, HookRunResult } from '../domain';

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
