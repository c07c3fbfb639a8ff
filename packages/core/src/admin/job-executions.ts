import { z } from 'zod';
import { HookPoint, StageVerdict } from '../domain';
import { RunState, redactTaskTokens } from '../engine';
import { NotFoundError } from '../errors';
import type { EventClaims, Page, StageExecutions } from '../ports';

/** One state-machine run of a job, as the admin API lists it. */
export const JobExecution = z.object({
  executionId: z.string(),
  hookPoint: HookPoint,
  status: z.string().describe('RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, or UNKNOWN'),
  verdict: StageVerdict.nullable().describe('null while the stage runs or when it ended without one'),
  startedAt: z.string().nullable(),
  stoppedAt: z.string().nullable(),
});
export type JobExecution = z.output<typeof JobExecution>;

/** A stage execution's output: the run state its verdict is in. */
const StageOutput = z.object({ run: RunState });

export interface JobExecutionDeps {
  claims: Pick<EventClaims, 'executionsOf'>;
  executions: StageExecutions;
  /** The stage state machine: histories are read of its executions only. */
  stateMachineArn: string;
}

/**
 * The runs of a job, oldest first: the event claims name them (one per stage event), Step Functions
 * says how each stands. A run Step Functions no longer knows is UNKNOWN, started when it was claimed.
 */
export async function executionsOfJob(
  deps: Pick<JobExecutionDeps, 'claims' | 'executions'>,
  jobId: string,
): Promise<JobExecution[]> {
  const claims = await deps.claims.executionsOf(jobId);
  return Promise.all(
    claims.map(async (claim) => {
      const execution = await deps.executions.describe(claim.executionId);
      const output = execution?.output ? StageOutput.safeParse(JSON.parse(execution.output)) : undefined;
      return {
        executionId: claim.executionId,
        hookPoint: claim.hookPoint,
        status: execution?.status ?? 'UNKNOWN',
        verdict: execution?.status === 'SUCCEEDED' && output?.success ? output.data.run.verdict : null,
        startedAt: execution?.startDate?.toISOString() ?? claim.claimedAt,
        stoppedAt: execution?.stopDate?.toISOString() ?? null,
      };
    }),
  );
}

/** An execution of this state machine, named by its ARN or by its name; undefined for any other. */
function executionArnOf(stateMachineArn: string, id: string): string | undefined {
  const prefix = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:`;
  if (!id.startsWith('arn:')) return /^[A-Za-z0-9_-]{1,80}$/.test(id) ? `${prefix}${id}` : undefined;
  return id.startsWith(prefix) ? id : undefined;
}

/**
 * A page of a stage execution's event history, task tokens redacted (they would complete its tasks).
 * Throws a NotFoundError for an execution that is not this state machine's or that it does not know.
 */
export async function executionHistory(
  deps: Pick<JobExecutionDeps, 'executions' | 'stateMachineArn'>,
  id: string,
  page: { cursor?: string | undefined; limit: number; reverse: boolean },
): Promise<Page<unknown>> {
  const executionArn = executionArnOf(deps.stateMachineArn, id);
  const history = executionArn ? await deps.executions.history(executionArn, page) : undefined;
  if (!history) throw new NotFoundError('execution', id);
  return {
    items: history.events.map(redactTaskTokens),
    ...(history.nextCursor && { nextCursor: history.nextCursor }),
  };
}
