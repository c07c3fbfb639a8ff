import { GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { StoreError, StoreUnavailableError } from '@stagehooks/core/errors';
import type { ExecutionLogStore } from '@stagehooks/core/ports';
import { HttpReceiver } from '@test/http-receiver';
import { withFailingWrites } from '@test/logs';
import { startTestStack, type TestStack } from '@test/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let t: TestStack;
let receiver: HttpReceiver;
/** How the engine's log writes fail next: every time, the next N times, or not at all. */
const faults = { failing: 'never' as 'always' | 'never', failNext: 0 };

/** The real DynamoDB log store, whose writes fail as `faults` says; reads are untouched. */
const faulty = (logs: ExecutionLogStore) =>
  withFailingWrites(logs, () => {
    if (faults.failing === 'always')
      throw new StoreError('append execution logs', { cause: new Error('gone') });
    if (faults.failNext > 0) {
      faults.failNext--;
      throw new StoreUnavailableError('append execution logs');
    }
  });

beforeAll(async () => {
  receiver = await HttpReceiver.start();
  t = await startTestStack({ STAGEHOOKS_WEBHOOK_ALLOW: `127.0.0.1:${receiver.port}` }, undefined, {
    engineLogs: faulty,
  });
  for (const [name, sortOrder] of [
    ['first', 10],
    ['second', 20],
  ] as const) {
    await t.define({
      name,
      type: 'webhook',
      hookPoint: 'post_segment',
      scopeType: 'project',
      scopeId: 'p-logs',
      sortOrder,
      config: { url: receiver.url(`/${name}`) },
    });
  }
}, 120_000);
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

interface Result {
  name: string;
  status: string;
  logId: string | null;
}

describe('when execution logs cannot be written', () => {
  it('sends the verdict the hooks earned, says the logs were not written, cites none, and keeps them in the history', async () => {
    // Prepare
    faults.failing = 'always';

    // Act
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-nolog', projectId: 'p-logs' });
    const verdict = await t.receiver.verdict('job-nolog', 'post_segment');
    faults.failing = 'never';

    // Assess: both hooks ran and passed, so the stage passed; no log id is cited, and it says why
    const results = verdict.detail.results as Result[];
    expect(verdict.detail.verdict).toBe('passed');
    expect(results.map((r) => [r.name, r.status, r.logId])).toEqual([
      ['first', 'passed', null],
      ['second', 'passed', null],
    ]);
    expect(verdict.detail.logsError).toMatchObject({
      message: expect.stringContaining('could not be written'),
      failure: { Error: 'StoreError' },
    });
    expect((await t.stack.logs.listByJob('job-nolog')).items).toEqual([]);
    // the logs are in the execution history: the verdict's state holds them, with what each hook returned
    const history = await t.sfn.send(
      new GetExecutionHistoryCommand({ executionArn: verdict.detail.executionId as string }),
    );
    const entered = history.events?.filter((e) => e.stateEnteredEventDetails);
    expect(entered?.map((e) => e.stateEnteredEventDetails?.name)).toContain('LogsNotWritten');
    const atVerdict = entered?.find((e) => e.stateEnteredEventDetails?.name === 'EmitVerdict');
    const state = JSON.parse(atVerdict?.stateEnteredEventDetails?.input ?? '{}');
    expect(
      state.run.pending.map((p: { index: number; status: string; result: { responseStatus: number } }) => [
        p.index,
        p.status,
        p.result.responseStatus,
      ]),
    ).toEqual([
      [0, 'passed', 200],
      [1, 'passed', 200],
    ]);
    expect(state.stage).toMatchObject({ jobId: 'job-nolog', projectId: 'p-logs' });
  });

  it('writes them before the verdict when the store comes back, and then cites them', async () => {
    // Prepare: the write after the last hook fails once; WriteExecutionLogs, before the verdict, succeeds
    faults.failNext = 1;

    // Act
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-latelog', projectId: 'p-logs' });
    const verdict = await t.receiver.verdict('job-latelog', 'post_segment');

    // Assess
    const logs = (await t.stack.logs.listByJob('job-latelog')).items;
    expect(faults.failNext).toBe(0);
    expect(verdict.detail).toMatchObject({ verdict: 'passed', logsError: null });
    expect((verdict.detail.results as Result[]).map((r) => r.logId)).toEqual(logs.map((l) => l.id));
    expect(logs.map((l) => [l.hookName, l.status])).toEqual([
      ['first', 'passed'],
      ['second', 'passed'],
    ]);
  });
});
