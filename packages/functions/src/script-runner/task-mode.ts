import { errorFields } from '../log';
import { executeJob, reportInvalidJob, type ScriptJobDeps } from './job';

export interface TaskModeJob {
  /** STAGEHOOKS_TASK_TOKEN. */
  taskToken: string;
  /** STAGEHOOKS_JOB: the HookTaskArgs as JSON (States.JsonToString of the job). */
  job: string;
}

/** How often a task-mode runner tells Step Functions it is alive (RunScriptInTask's HeartbeatSeconds is 300). */
export const TASK_HEARTBEAT_EVERY_MS = 60_000;

/**
 * `task` isolation: this container was started by `ecs:runTask.waitForTaskToken` for one job. Runs it,
 * reports it, and returns the exit code: 0 once the task has its report (or no longer waits), 1 when it
 * could not be told. It sends heartbeats from its start, so a container that dies without reporting
 * fails its state after the heartbeat timeout instead of the state's whole timeout; and a job whose
 * task stopped waiting (it timed out, maybe while this container was starting, or was stopped) is not
 * run, or is cut short.
 */
export async function runTaskJob(
  { taskToken, job }: TaskModeJob,
  deps: ScriptJobDeps,
  interrupt: AbortSignal,
  options: { heartbeatEveryMs?: number } = {},
): Promise<number> {
  const abandoned = new AbortController();
  let finished = false;
  const beat = async (): Promise<'reported' | 'closed'> => {
    try {
      const state = await deps.reporter.heartbeat(taskToken);
      if (state === 'closed' && !finished) abandoned.abort();
      return state;
    } catch (error) {
      deps.log.warn('could not send a heartbeat', errorFields(error));
      return 'reported';
    }
  };
  // At once: the heartbeat clock has run since the task was scheduled (Fargate's start-up).
  if ((await beat()) === 'closed') {
    deps.log.warn('the task no longer waits for this job (it timed out or was stopped); not running it');
    return 0;
  }
  const beating = setInterval(() => void beat(), options.heartbeatEveryMs ?? TASK_HEARTBEAT_EVERY_MS);
  abandoned.signal.addEventListener('abort', () =>
    deps.log.warn('the task no longer waits for this job (it timed out or was stopped); cutting it short'),
  );
  try {
    return await runJob(taskToken, job, deps, AbortSignal.any([interrupt, abandoned.signal]));
  } finally {
    finished = true;
    clearInterval(beating);
  }
}

async function runJob(taskToken: string, job: string, deps: ScriptJobDeps, interrupt: AbortSignal) {
  try {
    let parsed: unknown;
    try {
      parsed = JSON.parse(job);
    } catch {
      await reportInvalidJob(taskToken, 'STAGEHOOKS_JOB is not JSON', deps);
      return 0;
    }
    const { report } = await executeJob(taskToken, parsed, deps, interrupt, 'task');
    if (report === 'closed') deps.log.warn('the job was reported, but its task no longer waits');
    return 0;
  } catch (error) {
    deps.log.error('could not report the script job to Step Functions', errorFields(error));
    return 1;
  }
}
