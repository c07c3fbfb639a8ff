import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  DynamoEventClaims,
  DynamoExecutionLogStore,
  DynamoHookRegistry,
  DynamoReviewStore,
} from '@stagehooks/core/dynamodb';
import {
  failureMessage,
  initialRun,
  PENDING_BUDGET_BYTES,
  pendingLogLimits,
  type RunState,
  StageTasks,
} from '@stagehooks/core/engine';
import { StoreError, StoreUnavailableError } from '@stagehooks/core/errors';
import { createTestTable } from '@test/dynamodb';
import { hookCreate } from '@test/hooks';
import { withFailingWrites } from '@test/logs';
import { hookResult } from '@test/results';
import { openReview } from '@test/reviews';
import { executionArn, stageOf } from '@test/stages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let table: Awaited<ReturnType<typeof createTestTable>>;
let tasks: StageTasks;
let registry: DynamoHookRegistry;
let logs: DynamoExecutionLogStore;

const passed = () => hookResult();

beforeAll(async () => {
  table = await createTestTable();
  const tableName = table.tableName;
  registry = new DynamoHookRegistry(table.doc, { tableName });
  logs = new DynamoExecutionLogStore(table.doc, { tableName });
  tasks = new StageTasks(tasksDeps());
});
afterAll(() => table.drop());

const stage = stageOf;
const executionId = executionArn;

describe('failure messages', () => {
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
    const { plan } = await tasks.resolveEffectiveHooks(stage('job-runner'), initialRun());
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
      run: { ...initialRun(), plan },
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
    const { plan } = await tasks.resolveEffectiveHooks(
      { ...stage('job-gone'), hookPoint: 'pre_segment' },
      initialRun(),
    );
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
    await reviews.create(
      openReview({
        id: 'review.early',
        jobId: 'job-early',
        executionId: executionId('job-early'),
        hookId: 'h',
        logId: 'job-early.0',
      }),
    );
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

  it('writes the logs of webhooks that follow each other together, when the last one is recorded', async () => {
    // Prepare: three webhooks at one project
    for (const [i, name] of ['w_one', 'w_two', 'w_three'].entries()) {
      await registry.create(
        hookCreate({
          name,
          type: 'webhook',
          hookPoint: 'pre_segment',
          scopeType: 'project',
          scopeId: 'p-batch',
          sortOrder: i,
          config: { url: 'https://hooks.example.com/in' },
        }),
        'test',
      );
    }
    const at = { ...stage('job-batch'), hookPoint: 'pre_segment' as const, projectId: 'p-batch' };
    const id = executionId('job-batch-1');
    let run = await tasks.resolveEffectiveHooks(at, initialRun());
    expect(run.current?.name).toBe('w_one');

    // Act + Assess: the first two wait in the state, the last writes all three
    const seen: Array<{ pending: number; written: number }> = [];
    while (run.current) {
      run = await tasks.runWebhook({ stage: at, hook: run.current, index: run.index, executionId: id, run });
      seen.push({ pending: run.pending.length, written: (await logs.listByJob('job-batch')).items.length });
    }
    expect(seen).toEqual([
      { pending: 1, written: 0 },
      { pending: 2, written: 0 },
      { pending: 0, written: 3 },
    ]);
    expect(run.results.map((r) => [r.name, r.logId])).toEqual([
      ['w_one', 'job-batch-1.0'],
      ['w_two', 'job-batch-1.1'],
      ['w_three', 'job-batch-1.2'],
    ]);
    const { items } = await logs.listByJob('job-batch');
    expect(
      items.map((l) => [l.id, l.hookName, l.status, (l.input as { invocationId: string }).invocationId]),
    ).toEqual([
      ['job-batch-1.0', 'w_one', 'passed', 'job-batch-1.0'],
      ['job-batch-1.1', 'w_two', 'passed', 'job-batch-1.1'],
      ['job-batch-1.2', 'w_three', 'passed', 'job-batch-1.2'],
    ]);
  });

  it('writes at once what is due: a block, an old entry, a large result', async () => {
    const { hook } = await registry.create(
      hookCreate({ name: 'due', hookPoint: 'post_variant', scopeType: 'project', scopeId: 'p-due' }),
      'test',
    );
    const at = { ...stage('job-due'), hookPoint: 'post_variant' as const, projectId: 'p-due' };
    const planned = (await tasks.resolveEffectiveHooks(at, initialRun())).plan.hooks[0];
    if (!planned) throw new Error('hook not planned');
    // A plan with the same hook twice, so one more hook follows and nothing is due for that reason.
    const plan = { hooks: [planned, planned], count: 2 };
    const record = (name: string, run: RunState, result = passed(), failureMode = planned.failureMode) =>
      tasks.recordExecution({
        stage: at,
        hook: { ...planned, failureMode },
        index: run.index,
        executionId: executionId(name),
        attempt: { result, hookRevision: hook.revision },
        run,
      });
    const fresh: RunState = { ...initialRun(), plan, current: planned };

    // A failed block hook: written before the review opens
    const blocked = await record('job-due-block', fresh, { ...passed(), status: 'failed' }, 'block');
    expect(blocked).toMatchObject({ blocked: true, pending: [] });
    // A large result: written at once, whole
    const large = await record('job-due-large', fresh, {
      ...passed(),
      stdout: 'x'.repeat(pendingLogLimits.entryBytes + 1),
    });
    expect(large.pending).toEqual([]);
    expect((await logs.get('job-due-large.0'))?.stdout).toHaveLength(pendingLogLimits.entryBytes + 1);
    // An entry waiting since before the age limit goes out with the next one
    const waiting = await record('job-due-age', fresh);
    expect(waiting.pending).toHaveLength(1);
    const aged = {
      ...waiting,
      pending: waiting.pending.map((e) => ({ ...e, recordedAt: e.recordedAt - pendingLogLimits.ageMs })),
    };
    expect((await record('job-due-age', aged)).pending).toEqual([]);
    expect((await logs.listByJob('job-due')).items.map((l) => l.id).sort()).toEqual([
      'job-due-age.0',
      'job-due-age.1',
      'job-due-block.0',
      'job-due-large.0',
    ]);
  });

  it('keeps the logs pending when the store is down, without running the hook again', async () => {
    // Prepare: a log store that is unavailable for its first write
    let failures = 1;
    const flaky = withFailingWrites(logs, () => {
      if (failures-- > 0) throw new StoreUnavailableError('append execution logs');
    });
    let calls = 0;
    const deps = tasksDeps();
    const withFlakyStore = new StageTasks({
      ...deps,
      logs: flaky,
      webhooks: {
        send: async () => {
          calls++;
          return passed();
        },
      },
    });
    await registry.create(
      hookCreate({
        name: 'lonely',
        type: 'webhook',
        hookPoint: 'post_delivery',
        scopeType: 'project',
        scopeId: 'p-down',
        config: { url: 'https://hooks.example.com/in' },
      }),
      'test',
    );
    const at = { ...stage('job-down'), hookPoint: 'post_delivery' as const, projectId: 'p-down' };
    const id = executionId('job-down-1');
    const planned = await withFlakyStore.resolveEffectiveHooks(at, initialRun());
    if (!planned.current) throw new Error('hook not planned');

    // Act: the last hook's write fails; WriteExecutionLogs (before the verdict) writes it
    const run = await withFlakyStore.runWebhook({
      stage: at,
      hook: planned.current,
      index: 0,
      executionId: id,
      run: planned,
    });
    expect(run).toMatchObject({ current: null, pending: [{ index: 0, status: 'passed' }] });
    expect((await logs.listByJob('job-down')).items).toEqual([]);
    const written = await withFlakyStore.writeExecutionLogs({ stage: at, run, executionId: id });

    // Assess
    expect(calls).toBe(1);
    expect(written.pending).toEqual([]);
    expect((await logs.listByJob('job-down')).items.map((l) => [l.id, l.status])).toEqual([
      ['job-down-1.0', 'passed'],
    ]);
  });

  it('keeps logs the store keeps refusing within the run state budget, and the verdict as the hooks earned it', async () => {
    // Prepare: a store whose every write fails for good; 20 webhooks answering 16 KiB each
    const broken = withFailingWrites(logs, () => {
      throw new StoreError('append execution logs');
    });
    const big = { ...passed(), responseStatus: 200, responseBody: 'x'.repeat(16 * 1024) };
    const withBrokenStore = new StageTasks({
      ...tasksDeps(),
      logs: broken,
      webhooks: { send: async () => big },
    });
    for (let i = 0; i < 20; i++) {
      await registry.create(
        hookCreate({
          name: `big-${i}`,
          type: 'webhook',
          hookPoint: 'pre_segment',
          scopeType: 'project',
          scopeId: 'p-broken',
          sortOrder: i,
          config: { url: 'https://hooks.example.com/in' },
        }),
        'test',
      );
    }
    const at = { ...stage('job-broken'), hookPoint: 'pre_segment' as const, projectId: 'p-broken' };
    const id = executionId('job-broken-1');
    let run = await withBrokenStore.resolveEffectiveHooks(at, initialRun());

    // Act
    while (run.current) {
      run = await withBrokenStore.runWebhook({
        stage: at,
        hook: run.current,
        index: run.index,
        executionId: id,
        run,
      });
    }

    // Assess: every hook ran and passed, none cited, every log still pending, the state bounded
    expect(run.results.map((r) => [r.status, r.logId])).toEqual(Array(20).fill(['passed', null]));
    expect(run).toMatchObject({ verdict: 'passed', blocked: false });
    expect(run.pending.map((p) => p.index)).toEqual([...Array(20).keys()]);
    expect(Buffer.byteLength(JSON.stringify(run.pending))).toBeLessThanOrEqual(PENDING_BUDGET_BYTES);
    expect(run.pending[0]?.result).toMatchObject({ truncated: true, responseStatus: 200 });
    await expect(withBrokenStore.writeExecutionLogs({ stage: at, run, executionId: id })).rejects.toThrow(
      StoreError,
    );
  });

  it('cites a blocked hook’s log written late (by FlagForReview) in the verdict of a rejected stage', async () => {
    // Prepare: the block hook's own log write fails once; FlagForReview then writes it
    let failures = 1;
    const flaky = withFailingWrites(logs, () => {
      if (failures-- > 0) throw new StoreUnavailableError('append execution logs');
    });
    const failed = { ...passed(), status: 'failed' as const, responseStatus: 500 };
    const withFlakyStore = new StageTasks({
      ...tasksDeps(),
      logs: flaky,
      webhooks: { send: async () => failed },
    });
    for (const [name, sortOrder] of [
      ['gate', 1],
      ['after', 2],
    ] as const) {
      await registry.create(
        hookCreate({
          name,
          type: 'webhook',
          hookPoint: 'post_variant',
          scopeType: 'project',
          scopeId: 'p-late',
          sortOrder,
          failureMode: 'block',
          config: { url: 'https://hooks.example.com/in' },
        }),
        'test',
      );
    }
    const at = { ...stage('job-late'), hookPoint: 'post_variant' as const, projectId: 'p-late' };
    const id = executionId('job-late-1');
    const planned = await withFlakyStore.resolveEffectiveHooks(at, initialRun());
    if (!planned.current) throw new Error('hook not planned');

    // Act: the gate fails and blocks; its log is written by FlagForReview; the review is rejected
    const blocked = await withFlakyStore.runWebhook({
      stage: at,
      hook: planned.current,
      index: 0,
      executionId: id,
      run: planned,
    });
    const { reviewId } = await withFlakyStore.flagForReview({ stage: at, run: blocked, executionId: id });
    const decided = await withFlakyStore.applyReviewDecision({
      reviewId,
      decision: { decision: 'reject', by: 'ana' },
      run: blocked,
    });
    const ended = await withFlakyStore.skipRemainingHooks({ stage: at, run: decided, executionId: id });

    // Assess: every result cites a log that is there
    expect(blocked.results.map((r) => r.logId)).toEqual([null]);
    const written = (await logs.listByJob('job-late')).items.map((l) => l.id);
    expect(ended.results.map((r) => [r.name, r.status, r.logId])).toEqual([
      ['gate', 'failed', 'job-late-1.0'],
      ['after', 'skipped', 'job-late-1.1'],
    ]);
    expect(written.sort()).toEqual(['job-late-1.0', 'job-late-1.1']);
    expect(ended).toMatchObject({ verdict: 'blocked', pending: [] });
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

  it('keeps a record of every rejected event without an id, and one of a rejected event delivered twice', async () => {
    // Prepare: two events without a usable id, and one with an id delivered twice, each refused
    const refused = (jobId: string, id?: unknown) => ({
      ...(id === undefined ? {} : { id }),
      source: 'studio.pipeline',
      'detail-type': 'Stage Reached',
      detail: { jobId },
    });

    // Act
    await tasks.validateAndClaim(refused('job-nameless-1'), executionId('nameless-1'));
    await tasks.validateAndClaim(refused('job-nameless-2', 42), executionId('nameless-2'));
    await tasks.validateAndClaim(refused('job-twice', 'evt-twice'), executionId('twice-1'));
    await tasks.validateAndClaim(refused('job-twice', 'evt-twice'), executionId('twice-2'));

    // Assess
    const rejected = (await rejectedEvents()).filter((r) => /job-(nameless|twice)/.test(String(r.event)));
    expect(rejected.map((r) => [JSON.parse(String(r.event)).detail.jobId, r.eventId]).sort()).toEqual([
      ['job-nameless-1', null],
      ['job-nameless-2', null],
      ['job-twice', 'evt-twice'],
    ]);
    expect(
      rejected.find((r) => r.eventId === null && String(r.event).includes('job-nameless-2')),
    ).toMatchObject({
      executionId: executionId('nameless-2'),
      reasons: expect.arrayContaining([{ path: 'id', message: expect.any(String) }]),
    });
  });
});

/** Every rejected-event record in the table, as stored. */
async function rejectedEvents() {
  const { Items = [] } = await table.doc.send(
    new QueryCommand({
      TableName: table.tableName,
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :pk',
      ExpressionAttributeValues: { ':pk': 'REJECTED_EVENTS' },
    }),
  );
  return Items;
}

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
