import { executionHistory, executionsOfJob } from '@stagehooks/core/admin';
import { DynamoEventClaims } from '@stagehooks/core/dynamodb';
import { initialRun } from '@stagehooks/core/engine';
import { NotFoundError } from '@stagehooks/core/errors';
import type { ExecutionHistoryPage, StageExecutionRecord, StageExecutions } from '@stagehooks/core/ports';
import { createTestTable } from '@test/dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stateMachineArn = 'arn:aws:states:us-east-1:000000000000:stateMachine:stagehooks-stage';
const executionArn = (name: string) => `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

let table: Awaited<ReturnType<typeof createTestTable>>;
let claims: DynamoEventClaims;

beforeAll(async () => {
  table = await createTestTable();
  claims = new DynamoEventClaims(table.doc, { tableName: table.tableName });
});
afterAll(() => table.drop());

/** Step Functions as it stands: the executions it knows and their histories; every history read recorded. */
function stepFunctions(
  records: StageExecutionRecord[],
  histories: Record<string, ExecutionHistoryPage> = {},
): StageExecutions & { historyReads: string[] } {
  const historyReads: string[] = [];
  return {
    historyReads,
    describe: async (arn) => records.find((r) => r.executionArn === arn),
    history: async (arn) => {
      historyReads.push(arn);
      return histories[arn];
    },
  };
}

const record = (name: string, fields: Partial<StageExecutionRecord>): StageExecutionRecord => ({
  executionArn: executionArn(name),
  name,
  status: 'RUNNING',
  startDate: new Date('2026-11-20T12:00:00.000Z'),
  stopDate: undefined,
  output: undefined,
  ...fields,
});

describe('executionsOfJob', () => {
  it('lists the claimed runs of a job with how each stands; a verdict only for a run that succeeded', async () => {
    // Prepare: three stage events of one job; Step Functions knows two of the runs
    for (const [i, name] of ['job-x-a', 'job-x-b', 'job-x-c'].entries()) {
      await claims.claim({
        eventId: `evt-${name}`,
        executionId: executionArn(name),
        jobId: 'job-x',
        hookPoint: i === 0 ? 'post_variant' : 'post_segment',
      });
    }
    const sfn = stepFunctions([
      record('job-x-a', {
        status: 'SUCCEEDED',
        stopDate: new Date('2026-11-20T12:00:05.000Z'),
        output: JSON.stringify({ run: { ...initialRun(), verdict: 'warned' } }),
      }),
      record('job-x-b', { output: JSON.stringify({ run: { ...initialRun(), verdict: 'blocked' } }) }),
    ]);

    // Act
    const items = await executionsOfJob({ claims, executions: sfn }, 'job-x');

    // Assess
    expect(items).toEqual([
      {
        executionId: executionArn('job-x-a'),
        hookPoint: 'post_variant',
        status: 'SUCCEEDED',
        verdict: 'warned',
        startedAt: '2026-11-20T12:00:00.000Z',
        stoppedAt: '2026-11-20T12:00:05.000Z',
      },
      expect.objectContaining({ executionId: executionArn('job-x-b'), status: 'RUNNING', verdict: null }),
      expect.objectContaining({
        executionId: executionArn('job-x-c'),
        status: 'UNKNOWN',
        verdict: null,
        startedAt: expect.any(String),
        stoppedAt: null,
      }),
    ]);
    expect(await executionsOfJob({ claims, executions: sfn }, 'job-none')).toEqual([]);
  });
});

describe('executionHistory', () => {
  const events = [
    { id: 1, type: 'TaskScheduled', taskScheduledEventDetails: { parameters: '{"taskToken":"secret-1"}' } },
    { id: 2, type: 'TaskSubmitted', taskToken: 'secret-2' },
  ];
  const sfn = stepFunctions([], { [executionArn('run-1')]: { events, nextCursor: 'next-page' } });

  it('reads a run of this state machine by name or ARN, task tokens redacted', async () => {
    // Act
    const byName = await executionHistory({ executions: sfn, stateMachineArn }, 'run-1', {
      limit: 10,
      reverse: false,
    });
    const byArn = await executionHistory({ executions: sfn, stateMachineArn }, executionArn('run-1'), {
      limit: 10,
      reverse: false,
    });

    // Assess
    expect(byName).toEqual(byArn);
    expect(byName.nextCursor).toBe('next-page');
    expect(JSON.stringify(byName.items)).not.toMatch(/secret-/);
    expect(byName.items[1]).toEqual({ id: 2, type: 'TaskSubmitted', taskToken: '[redacted]' });
  });

  it('answers not found for another machine’s run, a malformed name, or a run Step Functions does not know', async () => {
    const page = { limit: 10, reverse: false };
    const other = 'arn:aws:states:us-east-1:000000000000:execution:other-machine:run-1';
    sfn.historyReads.length = 0;
    for (const id of [other, 'no such/name', 'run-unknown']) {
      await expect(executionHistory({ executions: sfn, stateMachineArn }, id, page)).rejects.toBeInstanceOf(
        NotFoundError,
      );
    }
    // Another machine's run is never asked for
    expect(sfn.historyReads).toEqual([executionArn('run-unknown')]);
  });
});
