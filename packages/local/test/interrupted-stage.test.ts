import { DynamoExecutionLogStore, DynamoReviewStore } from '@stagehooks/core/dynamodb';
import {
  initialRun,
  logsWritten,
  type PlannedHook,
  pendingLogDrafts,
  type RunState,
  recordAttempt,
} from '@stagehooks/core/engine';
import type { EventPublisher } from '@stagehooks/core/ports';
import { createTestTable } from '@test/dynamodb';
import { hookResult } from '@test/results';
import { openReview } from '@test/reviews';
import { executionArn, plannedHook, runOf, stageOf } from '@test/stages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concludeInterrupted, type InterruptedStageDeps } from '../src/stack/interrupted-stage';

let table: Awaited<ReturnType<typeof createTestTable>>;
let logs: DynamoExecutionLogStore;
let reviews: DynamoReviewStore;

beforeAll(async () => {
  table = await createTestTable();
  logs = new DynamoExecutionLogStore(table.doc, { tableName: table.tableName });
  reviews = new DynamoReviewStore(table.doc, { tableName: table.tableName });
});
afterAll(() => table.drop());

const executionId = executionArn;
const stage = stageOf;
const planned = (name: string, failureMode: PlannedHook['failureMode'] = 'warn') =>
  plannedHook(name, { failureMode });
const planOf = runOf;
const passed = hookResult({
  exitCode: null,
  stdout: null,
  stderr: null,
  responseStatus: 200,
  responseBody: '',
});

/** Real stores; the bus is a list. */
function depsWith(published: unknown[]): InterruptedStageDeps {
  const events: EventPublisher = { publish: async (entries) => void published.push(...entries) };
  return { logs, reviews, events };
}

describe('concludeInterrupted', () => {
  it('ends a stage stopped before its claim was through with a blocked verdict, if the event names its job', async () => {
    // Prepare: what the last state data can be when the stack stopped that early
    const published: unknown[] = [];
    const deps = depsWith(published);
    const event = {
      id: 'evt-early',
      source: 'studio.pipeline',
      detail: { jobId: 'job-early', hookPoint: 'pre_segment' },
    };
    const id = executionId('job-early-1');

    // Act
    const fromEvent = await concludeInterrupted(deps, event, id, 'stopped');
    const fromUnclaimed = await concludeInterrupted(
      deps,
      { stage: { jobId: 'job-early', hookPoint: 'pre_segment' }, run: initialRun() },
      id,
      'stopped',
    );
    const nameless = await concludeInterrupted(
      deps,
      { ...event, detail: { hookPoint: 'nowhere' } },
      id,
      'stopped',
    );
    const duplicate = await concludeInterrupted(deps, { claim: { outcome: 'duplicate' } }, id, 'stopped');

    // Assess
    const verdict = {
      jobId: 'job-early',
      hookPoint: 'pre_segment',
      verdict: 'blocked',
      executionId: id,
      results: [],
      review: null,
      logsError: null,
      interrupted: true,
      outputs: {},
      stage: null,
      patches: [],
    };
    expect(fromEvent).toEqual(verdict);
    expect(fromUnclaimed).toEqual(verdict);
    expect(nameless).toBeUndefined();
    expect(duplicate).toBeUndefined();
    expect(published).toEqual([
      { detailType: 'Stage Hooks Completed', detail: verdict },
      { detailType: 'Stage Hooks Completed', detail: verdict },
    ]);
  });

  it('logs the running hook as an error unless its log was written, and the rest as skipped', async () => {
    // Prepare: the first hook ran and was logged; the second was running when the stack stopped
    const at = stage('job-mid');
    const id = executionId('job-mid-1');
    const attemptAt = (run: RunState) => {
      if (!run.current) throw new Error('no hook left');
      const attempt = { result: passed, hookRevision: 1 };
      return recordAttempt(run, {
        stage: at,
        hook: run.current,
        index: run.index,
        executionId: id,
        attempt,
        at: new Date(),
      });
    };
    const afterFirst = attemptAt(planOf(planned('first'), planned('running'), planned('after')));
    const ran = logsWritten(afterFirst, id);
    // The running hook finished and its log went out just before the stop, not its state: the log stands.
    for (const { id: logId, draft } of pendingLogDrafts(at, id, attemptAt(afterFirst)))
      await logs.append(draft, logId);
    const published: unknown[] = [];

    // Act: twice, as a second restart would
    const verdict = await concludeInterrupted(depsWith(published), { stage: at, run: ran }, id, 'stopped');
    await concludeInterrupted(depsWith([]), { stage: at, run: ran }, id, 'stopped');

    // Assess
    expect(verdict?.results.map((r) => [r.name, r.status, r.logId])).toEqual([
      ['first', 'passed', 'job-mid-1.0'],
      ['running', 'error', 'job-mid-1.1'],
      ['after', 'skipped', 'job-mid-1.2'],
    ]);
    expect(verdict).toMatchObject({ verdict: 'blocked', interrupted: true });
    expect(published).toHaveLength(1);
    const { items } = await logs.listByJob('job-mid');
    expect(items.map((l) => [l.id, l.hookName, l.status]).sort()).toEqual([
      ['job-mid-1.0', 'first', 'passed'],
      ['job-mid-1.1', 'running', 'passed'],
      ['job-mid-1.2', 'after', 'skipped'],
    ]);
    expect((await logs.get('job-mid-1.2'))?.errorMessage).toBe('not run: the stage was blocked by running');
  });

  it('reports the detached hooks of a stage stopped after its verdict, not a second verdict', async () => {
    // Prepare: the inline hook ran, the verdict went out, the first detached hook was running
    const at = stage('job-after');
    const id = executionId('job-after-1');
    const detached = (name: string) => ({ ...planned(name), mode: 'detached' as const });
    const plan = planOf(planned('gate'), detached('notify'), detached('purge'));
    const verdictDue = recordAttempt(plan, {
      stage: at,
      hook: planned('gate'),
      index: 0,
      executionId: id,
      attempt: { result: passed, hookRevision: 1 },
      at: new Date(),
    });
    const sent: RunState = { ...logsWritten(verdictDue, id), verdictSent: true };
    const published: Array<{ detailType: string; detail: unknown }> = [];

    // Act
    const report = await concludeInterrupted(depsWith(published), { stage: at, run: sent }, id, 'stopped');

    // Assess
    expect(published.map((p) => p.detailType)).toEqual(['Stage Hooks Detached Completed']);
    expect(report).toMatchObject({ jobId: 'job-after', interrupted: true });
    expect(report?.results.map((r) => [r.name, r.status, r.logId])).toEqual([
      ['notify', 'error', 'job-after-1.1'],
      ['purge', 'skipped', 'job-after-1.2'],
    ]);
    expect((await logs.get('job-after-1.2'))?.errorMessage).toBe('not run: stopped');
  });

  it('closes the review a blocked stage was waiting for as interrupted', async () => {
    // Prepare: a gate failed, its log written, its review open
    const at = stage('job-held');
    const id = executionId('job-held-1');
    const gate = planned('gate', 'block');
    const blocked = recordAttempt(planOf(gate, planned('later')), {
      stage: at,
      hook: gate,
      index: 0,
      executionId: id,
      attempt: { result: { ...passed, status: 'failed' as const, responseStatus: 500 }, hookRevision: 1 },
      at: new Date(),
    });
    await reviews.create(openReview({ id: 'review.job-held-1.0', jobId: 'job-held', executionId: id }));

    // Act
    const verdict = await concludeInterrupted(
      depsWith([]),
      { stage: at, run: blocked, review: { reviewId: 'review.job-held-1.0' } },
      id,
      'the stack stopped',
    );

    // Assess
    expect(await reviews.get('review.job-held-1.0')).toMatchObject({
      status: 'interrupted',
      comment: 'the stack stopped',
    });
    expect(verdict?.results.map((r) => [r.name, r.status, r.logId])).toEqual([
      ['gate', 'failed', 'job-held-1.0'],
      ['later', 'skipped', 'job-held-1.1'],
    ]);
    expect((await logs.listByJob('job-held')).items.map((l) => l.status).sort()).toEqual([
      'failed',
      'skipped',
    ]);
  });
});
