import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ScriptTestJob, ScriptTestMessage, safeParseFields } from '@stagehooks/core/domain';
import type { QueuedJob, ScriptJobQueue } from '@stagehooks/core/ports';
import { errorFields } from '../log';
import { executeJob, graceAfter, type ScriptJobDeps, ScriptJobMessage, untilAborted } from './job';
import { executeTestJob, type TestJobDeps } from './test-job';

export interface ScriptJobPoolOptions {
  queue: ScriptJobQueue;
  jobs: ScriptJobDeps;
  /** Runs and logs the admin API's test runs, which come on the same queue. */
  tests: TestJobDeps['tests'];
  /** Jobs run at once. */
  concurrency: number;
  /** After stop(): how long running scripts may finish before they are reported interrupted. */
  stopGraceMs: number;
  /** Long-poll wait; default 20 s (the SQS maximum). */
  waitSeconds?: number;
  /** How long a taken message stays hidden, renewed while its script runs; default 60 s. */
  visibilitySeconds?: number;
  /** How often a running job's message is renewed; default a third of visibilitySeconds. */
  extendEveryMs?: number;
  /** Pause after a failed poll; default 1 s. */
  pollErrorBackoffMs?: number;
}

/**
 * `pool` isolation: a warm runner that takes jobs from the queue RunScriptInPool sends to, runs up to
 * `concurrency` at once, reports each to its task token, then deletes its message. A message is
 * deleted only once its task has been told (or no longer waits), so a runner that dies mid-job leaves
 * the job to be taken again. The admin API's test runs come on the same queue, without a token: each is
 * run and logged, and its message deleted once the log is written. stop() (SIGTERM) stops taking jobs, hands back any it had not started, and
 * resolves when every running job is reported: finished within the grace period, or interrupted.
 */
export class ScriptJobPool {
  readonly #options: Required<ScriptJobPoolOptions>;
  readonly #stop = new AbortController();
  readonly #interrupt: AbortSignal;
  readonly #inFlight = new Set<Promise<void>>();
  #running: Promise<void> | undefined;
  /** Wakes the loop when it waits for a free slot. */
  #slotFreed: (() => void) | undefined;

  constructor(options: ScriptJobPoolOptions) {
    const visibilitySeconds = options.visibilitySeconds ?? 60;
    this.#options = {
      waitSeconds: 20,
      extendEveryMs: (visibilitySeconds * 1000) / 3,
      pollErrorBackoffMs: 1_000,
      ...options,
      visibilitySeconds,
    };
    setMaxListeners(0, this.#stop.signal);
    this.#interrupt = graceAfter(this.#stop.signal, options.stopGraceMs);
  }

  /** Takes jobs until stop(); resolves once every job it took has been reported or handed back. */
  run(): Promise<void> {
    this.#running ??= this.#takeJobs();
    return this.#running;
  }

  /** Stops taking jobs; resolves when the pool is drained. */
  stop(): Promise<void> {
    this.#stop.abort();
    return this.#running ?? Promise.resolve();
  }

  /** Jobs taken and not yet reported. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  async #takeJobs(): Promise<void> {
    const { queue, concurrency, waitSeconds, visibilitySeconds, pollErrorBackoffMs } = this.#options;
    const { log } = this.#options.jobs;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const free = concurrency - this.#inFlight.size;
      if (free <= 0) {
        await this.#slotOrStop();
        continue;
      }
      const polling = queue.receive({ max: free, waitSeconds, visibilitySeconds, signal });
      let jobs: QueuedJob[] | null;
      try {
        jobs = await untilAborted(polling, signal);
      } catch (error) {
        log.error('could not poll the script queue', errorFields(error));
        await sleep(pollErrorBackoffMs, undefined, { signal }).catch(() => undefined);
        continue;
      }
      if (jobs === null) {
        // Stopped mid-poll: whatever the poll still brings goes straight back to the queue.
        polling.then((late) => this.#handBack(late)).catch(() => undefined);
        break;
      }
      if (signal.aborted) {
        await this.#handBack(jobs);
        break;
      }
      for (const job of jobs) this.#start(job);
    }
    await Promise.all(this.#inFlight);
  }

  #start(job: QueuedJob): void {
    const task: Promise<void> = this.#handle(job)
      .catch((error: unknown) =>
        this.#options.jobs.log.error('script job handling failed', {
          messageId: job.messageId,
          ...errorFields(error),
        }),
      )
      .finally(() => {
        this.#inFlight.delete(task);
        this.#slotFreed?.();
      });
    this.#inFlight.add(task);
  }

  #slotOrStop(): Promise<void> {
    const signal = this.#stop.signal;
    return new Promise((resolve) => {
      const wake = () => {
        signal.removeEventListener('abort', wake);
        this.#slotFreed = undefined;
        resolve();
      };
      this.#slotFreed = wake;
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  async #handle(job: QueuedJob): Promise<void> {
    const { jobs: deps } = this.#options;
    const { log, reporter } = deps;
    const messageId = job.messageId;
    const body = parseJson(job.body);
    const test = ScriptTestMessage.safeParse(body);
    if (test.success) {
      await this.#runTest(job, test.data.testRun);
      return;
    }
    const message = safeParseFields(ScriptJobMessage, body);
    if (!message.success) {
      // No token to report to: nobody can be waiting on it, and it would fail the same way every time.
      log.error('script queue message is neither { taskToken, job } nor { testRun }; deleting it', {
        messageId,
      });
      await this.#delete(job);
      return;
    }
    const { taskToken } = message.data;
    // A job that waited in the queue past its task's timeout is not run: nobody would read its result.
    const waiting = await reporter.heartbeat(taskToken).catch((error: unknown) => {
      log.warn('could not check that the job is still awaited; running it', {
        messageId,
        ...errorFields(error),
      });
      return 'reported' as const;
    });
    if (waiting === 'closed') {
      log.warn("the job's task no longer waits; dropping the job", { messageId });
      await this.#delete(job);
      return;
    }
    const keepHidden = this.#keepHidden(job);
    try {
      await executeJob(taskToken, message.data.job, deps, this.#interrupt, 'pool');
    } catch (error) {
      // The task was not told: keep the message, so the job is taken again once its visibility lapses.
      log.error('could not report the script job; its message returns to the queue', {
        messageId,
        ...errorFields(error),
      });
      return;
    } finally {
      clearInterval(keepHidden);
    }
    await this.#delete(job);
  }

  async #runTest(job: QueuedJob, testRun: ScriptTestJob): Promise<void> {
    const { log } = this.#options.jobs;
    const keepHidden = this.#keepHidden(job);
    try {
      await executeTestJob(testRun, { tests: this.#options.tests, log }, this.#interrupt);
    } catch (error) {
      // Not logged: keep the message, so the test is taken again once its visibility lapses.
      log.error('could not log the script test run; its message returns to the queue', {
        messageId: job.messageId,
        ...errorFields(error),
      });
      return;
    } finally {
      clearInterval(keepHidden);
    }
    await this.#delete(job);
  }

  /** Renews a running job's message until the returned timer is cleared, so no other runner takes it. */
  #keepHidden(job: QueuedJob): NodeJS.Timeout {
    const { queue, visibilitySeconds, extendEveryMs, jobs } = this.#options;
    return setInterval(() => {
      queue.extendVisibility(job.receiptHandle, visibilitySeconds).catch((error: unknown) => {
        jobs.log.warn("could not extend a running job's message visibility", {
          messageId: job.messageId,
          ...errorFields(error),
        });
      });
    }, extendEveryMs);
  }

  async #delete(job: QueuedJob): Promise<void> {
    await this.#options.queue.delete(job.receiptHandle).catch((error: unknown) => {
      // Delivered again later, it is dropped then: its task no longer waits.
      this.#options.jobs.log.warn("could not delete a finished job's message", {
        messageId: job.messageId,
        ...errorFields(error),
      });
    });
  }

  async #handBack(jobs: QueuedJob[]): Promise<void> {
    await Promise.all(
      jobs.map((job) =>
        this.#options.queue.release(job.receiptHandle).catch((error: unknown) => {
          this.#options.jobs.log.warn('could not hand a job back to the queue', {
            messageId: job.messageId,
            ...errorFields(error),
          });
        }),
      ),
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
