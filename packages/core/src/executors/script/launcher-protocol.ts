import type { FinishedProcess, ProcessLaunch } from './process-group';

/**
 * The messages between a script runner and its launcher process (`launcher-process.ts`), over the
 * IPC channel of `child_process.fork` with `serialization: 'advanced'` (a Buffer arrives as a
 * Uint8Array). One `run` in, a `spawned` (unless it could not start), then `finished` or `failed`.
 */
export type LauncherRequest = { type: 'run'; id: number; launch: ProcessLaunch };

export type LauncherReply =
  | { type: 'ready' }
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'finished'; id: number; finished: FinishedProcess }
  /** The process could not be started: `runProcessGroup`'s error, as message and cause. */
  | { type: 'failed'; id: number; message: string; cause: string | null };

/** The launcher's entry module, for whoever bundles and starts it (the local stack). */
export const launcherEntry: URL = new URL('./launcher-process.ts', import.meta.url);
