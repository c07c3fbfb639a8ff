/** How a task report ended: taken, or the task no longer waits (timed out, already completed, unknown token). */
export type TaskReport = 'reported' | 'closed';

/**
 * Completes Step Functions tasks that wait for a token (AwaitReview's early decision, script runs).
 * A task that no longer waits is not an error: the report comes back 'closed'. Other failures throw.
 */
export interface TaskReporter {
  succeed(taskToken: string, output: object): Promise<TaskReport>;
  fail(taskToken: string, failure: { error: string; cause: string }): Promise<TaskReport>;
  /** Whether the task still waits; also resets its heartbeat clock. */
  heartbeat(taskToken: string): Promise<TaskReport>;
}
