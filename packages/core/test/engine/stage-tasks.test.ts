import {
  DynamoEventClaims,
  DynamoExecutionLogStore,
  DynamoHookRegistry,
  DynamoReviewStore,
} from '@stagehooks/core/dynamodb';
import { failureMessage, initialRun, outcomeOf, StageTasks } from '@stagehooks/core/engine';
import type { HookRunResult } from '@stagehooks/core/executors';
import { createTestTable } from '@test/dynamodb';
import { hookCreate } from '@test/hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let table: Awaited<ReturnType<typeof createTestTable>>;
let tasks: StageTasks;
let registry: DynamoHookRegistry;
let logs: DynamoExecutionLogStore;

const passed = (): HookRunResult => ({
  status: 'passed',
  exitCode: 0,
  stdout: 'ok',
  stderr: '',
  responseStatus: null,
  responseBody: null,
  errorMessage: null,
  truncated: false,
  startedAt: '2026-11-20T12:00:00.000Z',
  finishedAt: '2026-11-20T12:00:00.010Z',
  durationMs: 10,
});

beforeAll(async () => {
  table = await createTestTable();
  const tableName = table.tableName;
  registry = new DynamoHookRegistry(table.doc, { tableName });
  logs = new DynamoExecutionLogStore(table.doc, { tableName });
  tasks = new StageTasks(tasksDeps());
});
afterAll(() => table.drop());

const stage = (jobId: string) => ({
  eventId: `evt-${jobId}`,
  hookPoint: 'post_segment' as const,
  jobId,
  projectId: 'p1',
  sceneTypeId: null,
  segmentPath: null,
  metadata: {},
  sceneContext: {},
});
const executionId = (name: string) =>
  `arn:aws:states:us-east-1:000000000000:execution:stagehooks-stage:${name}`;

describe('outcomes and messages', () => {
  it('maps a failure by the failure mode, and a pass or a skip regardless of it', () => {
    expect(outcomeOf('failed', 'block')).toBe('blocked');
    expect(outcomeOf('timed_out', 'warn')).toBe('warned');
    expect(outcomeOf('error', 'ignore')).toBe('ignored');
    expect(outcomeOf('passed', 'block')).toBe('continued');
    expect(outcomeOf('skipped', 'block')).toBe('ignored');
  });

  it('says what went wrong in one line', () => {
    expect(failureMessage(passed())).toBeNull();
    expect(failureMessage({ ...passed(), status: 'failed', exitCode: 2 })).toBe('exited with code 2');
    expect(failureMessage({ ...passed(), status: 'failed', exitCode: null, responseStatus: 503 })).toBe(
      'answered HTTP 503',
    );
    expect(failureMessage({ ...passed(), status: 'failed', message: 'faces detected' })).toBe(
      'faces detected',
    );
  });
});

describe('StageTasks', () => {
  it('logs a runner failure as an error execution, once, however often it is recorded', async () => {
    // Prepare
    const { hook } = await registry.create(hookCreate({ name: 'crashy', failureMode: 'warn' }), 'test');
    const plan = await tasks.resolveEffectiveHooks(stage('job-runner'));
    const planned = plan.hooks.find((h) => h.id === hook.id);
    if (!planned) throw new Error('hook not planned');
    const args = {
      stage: stage('job-runner'),
      hook: planned,
      index: 0,
      executionId: executionId('job-runner-1'),
      attempt: {
        runnerError: { error: 'Lambda.Unknown', cause: 'Runtime exited with error: signal: killed' },
      },
      run: initialRun(),
    };

    // Act: recorded twice, as a retried RecordExecution would
    const run = await tasks.recordExecution(args);
    await tasks.recordExecution(args);

    // Assess
    expect(run).toMatchObject({ index: 1, verdict: 'warned', blocked: false });
    const { items } = await logs.listByJob('job-runner');
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ status: 'error', outcome: 'warned', id: 'job-runner-1.0' });
    expect(items[0]?.errorMessage).toBe(
      'the hook runner failed: Lambda.Unknown: Runtime exited with error: signal: killed',
    );
  });

  it('records a hook deleted between planning and running as an error, not a crash', async () => {
    const { hook } = await registry.create(
      hookCreate({ name: 'vanishing', hookPoint: 'pre_segment' }),
      'test',
    );
    const plan = await tasks.resolveEffectiveHooks({ ...stage('job-gone'), hookPoint: 'pre_segment' });
    await registry.delete(hook.id, 'test');
    const fresh = new StageTasks(tasksDeps()); // a runner that did not see the plan: nothing cached
    const planned = plan.hooks.find((h) => h.id === hook.id);
    if (!planned) throw new Error('hook not planned');
    const attempt = await fresh.runScript({
      stage: stage('job-gone'),
      hook: planned,
      index: 0,
      executionId: executionId('job-gone-1'),
    });
    expect('result' in attempt && attempt.result).toMatchObject({
      status: 'error',
      errorMessage: 'hook vanishing was deleted before it ran',
    });
  });

  it('hands back an early decision in exactly the shape SendTaskSuccess carries', async () => {
    // Prepare: a review decided before its waiting state stored the token
    const reviews = new DynamoReviewStore(table.doc, { tableName: table.tableName });
    await reviews.create({
      id: 'review.early',
      status: 'open',
      jobId: 'job-early',
      hookPoint: 'post_segment',
      scopeType: 'project',
      executionId: executionId('job-early'),
      hookId: 'h',
      hookName: 'gate',
      logId: 'job-early.0',
      errorMessage: null,
      taskToken: null,
      decision: null,
      decidedBy: null,
      comment: null,
      createdAt: '2026-11-20T12:00:00.000Z',
      decidedAt: null,
    });
    await reviews.decide('review.early', 'approve', 'quick-admin', 'seen it');

    // Act
    const early = await tasks.awaitReview('review.early', 'token-1');

    // Assess
    expect(early).toEqual({ decision: 'approve', by: 'quick-admin', comment: 'seen it' });
    const run = await tasks.applyReviewDecision({
      reviewId: 'review.early',
      decision: early as NonNullable<typeof early>,
      run: { ...initialRun(), blocked: true },
    });
    expect(run).toMatchObject({
      blocked: false,
      verdict: 'passed',
      review: { decision: 'approve', by: 'quick-admin' },
    });
  });

  it('claims an event once, and rejects a malformed one with every reason', async () => {
    const event = {
      id: 'evt-claim',
      source: 'studio.pipeline',
      'detail-type': 'Stage Reached',
      detail: { hookPoint: 'post_segment', jobId: 'j', projectId: 'p' },
    };
    expect((await tasks.validateAndClaim(event, executionId('a'))).claim.outcome).toBe('claimed');
    expect((await tasks.validateAndClaim(event, executionId('a'))).claim.outcome).toBe('claimed');
    expect((await tasks.validateAndClaim(event, executionId('b'))).claim.outcome).toBe('duplicate');
    const rejected = await tasks.validateAndClaim(
      { ...event, id: 'evt-bad', detail: { jobId: 'j' } },
      executionId('c'),
    );
    expect(rejected.claim).toEqual({
      outcome: 'rejected',
      reasons: [
        { path: 'detail.hookPoint', message: 'is required' },
        { path: 'detail.projectId', message: 'is required' },
      ],
    });
  });
});

/** Real stores; the executors are ports with their own tests, so these stand-ins just pass. */
function tasksDeps() {
  const tableName = table.tableName;
  return {
    registry,
    logs,
    reviews: new DynamoReviewStore(table.doc, { tableName }),
    claims: new DynamoEventClaims(table.doc, { tableName }),
    webhooks: { send: async () => passed() },
    scripts: { run: async () => passed() },
    events: { publish: async () => undefined },
  };
}
