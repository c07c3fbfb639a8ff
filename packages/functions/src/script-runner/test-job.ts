import type { ScriptTestJob } from '@stagehooks/core/domain';
import type { ScriptTests } from '@stagehooks/core/engine';
import { errorFields, type Logger } from '../log';
import { untilAborted } from './job';

export interface TestJobDeps {
  tests: Pick<ScriptTests, 'run' | 'fail'>;
  log: Logger;
}

export type TestJobEnd = 'ran' | 'failed' | 'interrupted';

/**
 * Runs a script hook's test run from the queue. It has no task token: the admin API waits for its log,
 * so the run always ends logged, by the run itself or as `error` when the run throws or the runner
 * stops first (SIGTERM past the grace). Throws only when not even that log can be written: the message
 * then stays on the queue, to be taken again.
 */
export async function executeTestJob(
  job: ScriptTestJob,
  deps: TestJobDeps,
  interrupt: AbortSignal,
): Promise<TestJobEnd> {
  const fields = { test: true, logId: job.input.invocationId, hookId: job.hook.id, hookName: job.hook.name };
  deps.log.info('script test run started', fields);
  const outcome = (await untilAborted(
    deps.tests.run(job).then(
      (log) => ({ kind: 'ran' as const, log }),
      (error: unknown) => ({ kind: 'threw' as const, error }),
    ),
    interrupt,
  )) ?? { kind: 'interrupted' as const };
  switch (outcome.kind) {
    case 'ran':
      deps.log.info('script test run finished', {
        ...fields,
        status: outcome.log.status,
        durationMs: outcome.log.durationMs,
      });
      return 'ran';
    case 'threw':
      deps.log.error('script test run failed in the runner', { ...fields, ...errorFields(outcome.error) });
      // The details stay in this log: the test's log is read by the API's callers.
      await deps.tests.fail(job, 'the script runner failed before the test ended; its service log says why');
      return 'failed';
    case 'interrupted':
      deps.log.warn('script test run interrupted: the runner is stopping', fields);
      await deps.tests.fail(job, 'the script runner was stopped (SIGTERM) before the script finished');
      return 'interrupted';
  }
}
