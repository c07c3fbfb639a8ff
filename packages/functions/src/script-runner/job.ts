import { setMaxListeners } from 'node:events';
import { safeParseFields } from '@stagehooks/core/domain';
import {
  type Attempt,
  type RunHookArgs,
  type RunState,
  type StageTasks,
  stateNames,
  workerState,
} from '@stagehooks/core/engine';
import { describeError } from '@stagehooks/core/errors';
import type { TaskReport, TaskReporter } from '@stagehooks/core/ports';
import { z } from 'zod';
import { fitAttempt } from '../engine/attempt-size';
import { errorFields, type Logger } from '../log';

/** What RunScriptInPool puts on the queue. */
export const ScriptJobMessage = z.strictObject({ taskToken: z.string().min(1), job: z.unknown() });
export type ScriptJobMessage = z.output<typeof ScriptJobMessage>;

/** Error names the state machine's RunnerFailed state records in the execution log. */
export const runnerErrors = {
  invalidJob: 'ScriptRunner.InvalidJob',
  failed: 'ScriptRunner.Failed',
  interrupted: 'ScriptRunner.Interrupted',
  misconfigured: 'ScriptRunner.Misconfigured',
} as const;

export interface ScriptJobDeps {
  /**
   * What the jobs run on: a pooled job does RunScriptInPool's work (runs the script and records it,
   * answers the run state), a task's job RunScriptInTask's (runs it, answers the Attempt).
   */
  tasks: StageTasks;
  reporter: TaskReporter;
  log: Logger;
  /** Default ATTEMPT_BUDGET_BYTES. */
  attemptBudgetBytes?: number;
}

export type JobEnd = 'succeeded' | 'failed' | 'invalid' | 'interrupted';

export interface JobResult {
  end: JobEnd;
  /** 'closed' when the task had stopped waiting: the report reached nobody. */
  report: TaskReport;
}

/**
 * A signal that aborts `graceMs` after `stop` does (never, if it does not): how long a stopping runner
 * lets running scripts finish before it reports them interrupted.
 */
export function graceAfter(stop: AbortSignal, graceMs: number): AbortSignal {
  const grace = new AbortController();
  // One listener per running job: more than EventTarget's default warning threshold is expected.
  setMaxListeners(0, grace.signal);
  const start = () => setTimeout(() => grace.abort(), graceMs);
  if (stop.aborted) start();
  else stop.addEventListener('abort', start, { once: true });
  return grace.signal;
}

/**
 * `work`'s value, or null as soon as `signal` aborts. Unlike racing a long-pending promise, it leaves
 * no reaction behind once `work` settles, so a runner that lives for weeks does not accumulate them.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const aborted = () => resolve(null);
    signal.addEventListener('abort', aborted, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', aborted);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', aborted);
        reject(error);
      },
    );
  });
}

/** Reports a job the runner cannot read, so its task fails now instead of at its timeout. */
export async function reportInvalidJob(
  taskToken: string,
  reason: string,
  deps: Pick<ScriptJobDeps, 'reporter' | 'log'>,
): Promise<JobResult> {
  deps.log.error('invalid script job', { reason });
  const report = await deps.reporter.fail(taskToken, { error: runnerErrors.invalidJob, cause: reason });
  return { end: 'invalid', report };
}

/** What the runner hands back: the recorded run state (pool), or the attempt for RecordExecution (task). */
type JobOutcome = { run: RunState } | { attempt: Attempt };

/**
 * Runs one job and reports it to its task token: SendTaskSuccess with the recorded run state (a pool
 * job: the runner records the run as RunWebhook does) or with the Attempt (a task's job, cut to fit the
 * state payload limit), or SendTaskFailure when the job is malformed (ScriptRunner.InvalidJob), the run
 * itself throws (ScriptRunner.Failed) or `interrupt` aborts first (ScriptRunner.Interrupted).
 * Throws only when the report cannot be delivered (TaskReportError).
 */
export async function executeJob(
  taskToken: string,
  job: unknown,
  deps: ScriptJobDeps,
  interrupt: AbortSignal,
  kind: 'pool' | 'task',
): Promise<JobResult> {
  const pool = workerState(stateNames.runScriptInPool);
  const ownTask = workerState(stateNames.runScriptInTask);
  const parsed = safeParseFields(kind === 'pool' ? pool.contract : ownTask.contract, job);
  if (!parsed.success) {
    const reason = `the job is not valid ${kind === 'pool' ? 'RunHookArgs' : 'HookTaskArgs'}: ${parsed.issues
      .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
      .join('; ')}`;
    return reportInvalidJob(taskToken, reason, deps);
  }
  const args = parsed.data;
  const fields = {
    executionId: args.executionId,
    index: args.index,
    hookId: args.hook.id,
    hookName: args.hook.name,
  };
  deps.log.info('script job started', fields);
  const work: Promise<JobOutcome> =
    kind === 'pool'
      ? pool.work(deps.tasks, args as RunHookArgs).then((run) => ({ run }))
      : ownTask.work(deps.tasks, args).then((attempt) => ({ attempt }));
  const outcome = (await untilAborted(
    work.then(
      (ran) => ({ kind: 'ran' as const, ran }),
      (error: unknown) => ({ kind: 'threw' as const, error }),
    ),
    interrupt,
  )) ?? { kind: 'interrupted' as const };
  switch (outcome.kind) {
    case 'ran': {
      if ('run' in outcome.ran) {
        const { run } = outcome.ran;
        const recorded = run.results.at(-1);
        deps.log.info('script job finished', {
          ...fields,
          status: recorded?.status,
          durationMs: recorded?.durationMs,
          logsPending: run.pending.length,
        });
        return { end: 'succeeded', report: await deps.reporter.succeed(taskToken, run) };
      }
      const attempt = fitAttempt(outcome.ran.attempt, deps.attemptBudgetBytes);
      const result = 'result' in attempt ? attempt.result : undefined;
      deps.log.info('script job finished', {
        ...fields,
        status: result?.status,
        durationMs: result?.durationMs,
        truncated: result?.truncated,
      });
      return { end: 'succeeded', report: await deps.reporter.succeed(taskToken, attempt) };
    }
    case 'threw': {
      deps.log.error('script job failed in the runner', { ...fields, ...errorFields(outcome.error) });
      const report = await deps.reporter.fail(taskToken, {
        error: runnerErrors.failed,
        cause: describeError(outcome.error),
      });
      return { end: 'failed', report };
    }
    case 'interrupted': {
      deps.log.warn('script job interrupted: the runner is stopping', fields);
      const report = await deps.reporter.fail(taskToken, {
        error: runnerErrors.interrupted,
        cause: 'the script runner was stopped (SIGTERM) before the script finished',
      });
      return { end: 'interrupted', report };
    }
  }
}
