import { errorFields } from '../log';
import { executeJob, reportInvalidJob, type ScriptJobDeps } from './job';

export interface TaskModeJob {
  /** STAGEHOOKS_TASK_TOKEN. */
  taskToken: string;
  /** STAGEHOOKS_JOB: the HookTaskArgs as JSON (States.JsonToString of the job). */
  job: string;
}

/**
 * `task` isolation: this container was started by `ecs:runTask.waitForTaskToken` for one job. Runs it,
 * reports it, and returns the exit code: 0 once the task has its report, 1 when it could not be told.
 */
export async function runTaskJob(
  { taskToken, job }: TaskModeJob,
  deps: ScriptJobDeps,
  interrupt: AbortSignal,
): Promise<number> {
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
