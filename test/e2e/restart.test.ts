import { chmod, stat } from 'node:fs/promises';
import { DescribeExecutionCommand, GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { HttpReceiver } from '@test/http-receiver';
import { startTestStack, type TestStack } from '@test/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let slowReceiver: HttpReceiver;
let before: TestStack;
let after: TestStack;
let home: string;
let reviewId: string;

beforeAll(async () => {
  slowReceiver = await HttpReceiver.start();
  slowReceiver.replyAlways({ status: 200, delayMs: 30_000 });
  before = await startTestStack({ STAGEHOOKS_WEBHOOK_ALLOW: `127.0.0.1:${slowReceiver.port}` });
  home = before.home;
}, 120_000);
afterAll(async () => {
  await after?.close();
  await slowReceiver?.close();
});

describe('stopping the stack mid-stage and starting it again', () => {
  it('ends every interrupted execution with an error log and an interrupted verdict', async () => {
    // Prepare: one stage stuck in a slow webhook, another waiting for a review
    const slow = async (projectId: string) => {
      await before.define({
        name: 'slow',
        type: 'webhook',
        hookPoint: 'post_segment',
        scopeType: 'project',
        scopeId: projectId,
        sortOrder: 10,
        config: { url: slowReceiver.url('/slow'), timeoutSeconds: 60 },
      });
      await before.define({
        name: 'later',
        type: 'shell',
        hookPoint: 'post_segment',
        scopeType: 'project',
        scopeId: projectId,
        sortOrder: 20,
        config: { script: 'true' },
      });
    };
    await slow('p-slow');
    await before.define({
      name: 'gate',
      type: 'shell',
      hookPoint: 'post_segment',
      scopeType: 'project',
      scopeId: 'p-held',
      sortOrder: 10,
      failureMode: 'block',
      config: { script: 'exit 1' },
    });
    await before.define({
      name: 'later',
      type: 'shell',
      hookPoint: 'post_segment',
      scopeType: 'project',
      scopeId: 'p-held',
      sortOrder: 20,
      config: { script: 'true' },
    });

    await before.emit({ hookPoint: 'post_segment', jobId: 'job-slow', projectId: 'p-slow' });
    await before.emit({ hookPoint: 'post_segment', jobId: 'job-held', projectId: 'p-held' });
    const blocked = await before.receiver.waitFor(
      (e) => e['detail-type'] === 'Stage Hooks Blocked' && e.detail.jobId === 'job-held',
    );
    reviewId = String(blocked.detail.reviewId);
    for (let i = 0; i < 100 && slowReceiver.requests.length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(slowReceiver.requests).toHaveLength(1);

    // Act: stop mid-run, start again on the same data (left open to other users meanwhile, for the next test)
    await before.close({ keepHome: true });
    await chmod(home, 0o755);
    after = await startTestStack({}, home);

    // Assess: both executions were found and ended
    expect(after.stack.interrupted.map((r) => r.name).sort()).toEqual([
      expect.stringMatching(/^job-held-post_segment-/),
      expect.stringMatching(/^job-slow-post_segment-/),
    ]);
    for (const jobId of ['job-slow', 'job-held']) {
      const verdict = await after.receiver.verdict(jobId, 'post_segment');
      expect(verdict.detail).toMatchObject({ verdict: 'blocked', interrupted: true });
      const execution = await after.sfn.send(
        new DescribeExecutionCommand({ executionArn: String(verdict.detail.executionId) }),
      );
      expect(execution).toMatchObject({ status: 'FAILED', error: 'Local.Interrupted' });
      const history = await after.sfn.send(
        new GetExecutionHistoryCommand({ executionArn: String(verdict.detail.executionId) }),
      );
      expect(history.events?.at(-1)?.type).toBe('ExecutionFailed');
    }
    const slowLogs = (await after.stack.logs.listByJob('job-slow')).items;
    expect(slowLogs.map((l) => [l.hookName, l.status])).toEqual([
      ['slow', 'error'],
      ['later', 'skipped'],
    ]);
    expect(slowLogs[0]?.errorMessage).toMatch(/Local\.Interrupted/);
    const heldLogs = (await after.stack.logs.listByJob('job-held')).items;
    expect(heldLogs.map((l) => [l.hookName, l.status])).toEqual([
      ['gate', 'failed'],
      ['later', 'skipped'],
    ]);
    expect((await after.stack.reviews.get(reviewId))?.status).toBe('interrupted');
  }, 120_000);

  it('does not end them twice on the next start', async () => {
    await after.close({ keepHome: true });
    after = await startTestStack({}, home);
    expect(after.stack.interrupted).toEqual([]);
  }, 120_000);

  it('makes a data folder left open to other users private again (it holds secrets)', async () => {
    // Assess: the start above found it 0755
    expect((await stat(home)).mode & 0o777).toBe(0o700);
  });
});
