import type { ScriptTestJob } from '@stagehooks/core/domain';
import type { ScriptTestQueue } from '@stagehooks/core/ports';
import { executeTestJob, type TestJobDeps } from '@stagehooks/functions/script-runner';

/**
 * The local stand-in for the pool runner's queue: a script's test run starts at once in this process,
 * through the runner's own test-job code and the stack's script runner, and is logged where the admin
 * API waits for it, as on AWS.
 */
export class LocalScriptTestQueue implements ScriptTestQueue {
  readonly #running = new Set<Promise<void>>();
  readonly #stop = new AbortController();

  constructor(private readonly deps: TestJobDeps) {}

  async submit(job: ScriptTestJob): Promise<void> {
    const run: Promise<void> = executeTestJob(job, this.deps, this.#stop.signal)
      .then(
        () => undefined,
        (error: unknown) => this.deps.log.error('could not log a script test run', { error: String(error) }),
      )
      .finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  /** Ends the runs still going (each is logged as interrupted) once their logs are written. */
  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.all(this.#running);
  }
}
