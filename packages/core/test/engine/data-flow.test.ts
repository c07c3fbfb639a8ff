import type { HookInput, HookRunResult } from '@stagehooks/core/domain';
import {
  type Attempt,
  advance,
  initialRun,
  logsDue,
  logsWritten,
  type PlannedHook,
  pendingLogDrafts,
  type RunState,
  recordAttempt,
  reviewApplied,
  type Stage,
  skipRemaining,
} from '@stagehooks/core/engine';
import { hookResult } from '@test/results';
import { executionArn, plannedHook as planned, stageOf } from '@test/stages';
import { describe, expect, it } from 'vitest';

// Pure: what the run state makes of data, patches, conditions and detached hooks.
const executionId = executionArn('job-flow-1');
const at = new Date('2026-12-04T12:00:00.000Z');
const stage: Stage = {
  ...stageOf('job-flow'),
  segmentPath: 's3://b/seg.mp4',
  metadata: { fps: 24, draft: true },
};

/** The run as ResolveEffectiveHooks leaves it for `hooks` (conditions checked from the start). */
const planOf = (...hooks: PlannedHook[]): RunState =>
  advance(
    stage,
    {
      ...initialRun(),
      plan: { hooks, count: hooks.length },
      current: hooks[0] ?? null,
      stage: { segmentPath: stage.segmentPath, metadata: stage.metadata },
    },
    executionId,
    at,
  );

const passed = (extra: Partial<HookRunResult> = {}): Attempt => ({
  result: hookResult({ status: 'passed', exitCode: 0, ...extra }),
  hookRevision: 1,
});

function next(run: RunState, attempt: Attempt = passed()): RunState {
  if (!run.current) throw new Error('no hook left to record');
  return recordAttempt(run, { stage, hook: run.current, index: run.index, executionId, attempt, at });
}

/** The inputs the pending logs record, by hook name. */
const inputsOf = (run: RunState): Record<string, HookInput> =>
  Object.fromEntries(
    pendingLogDrafts(stage, executionId, run).map(({ draft }) => [draft.hookName, draft.input as HookInput]),
  );

describe('data and patches', () => {
  it('hands data to later hooks, chains patches in order and keeps each in its own log', () => {
    // Prepare
    const run = planOf(planned('probe'), planned('grade'), planned('mark'));

    // Act
    const afterProbe = next(
      run,
      passed({ data: { res: '4k' }, patch: { segmentPath: 's3://b/graded.mp4', metadata: { draft: null } } }),
    );
    const afterGrade = next(
      afterProbe,
      passed({
        data: { lut: 'warm' },
        patch: { segmentPath: 's3://b/marked.mp4', metadata: { graded: true } },
      }),
    );
    const done = next(afterGrade);

    // Assess: the run carries the flow
    expect(done.outputs).toEqual({ probe: { res: '4k' }, grade: { lut: 'warm' } });
    expect(done.stage).toEqual({ segmentPath: 's3://b/marked.mp4', metadata: { fps: 24, graded: true } });
    expect(done.patches.map((p) => [p.name, p.hookId, p.patch.segmentPath])).toEqual([
      ['probe', 'id-probe', 's3://b/graded.mp4'],
      ['grade', 'id-grade', 's3://b/marked.mp4'],
    ]);
    // each hook's logged input is the stage as it found it: only what came before it
    const inputs = inputsOf(done);
    expect([inputs.probe?.segmentPath, inputs.probe?.metadata, inputs.probe?.outputs]).toEqual([
      's3://b/seg.mp4',
      { fps: 24, draft: true },
      {},
    ]);
    expect([inputs.grade?.segmentPath, inputs.grade?.metadata, inputs.grade?.outputs]).toEqual([
      's3://b/graded.mp4',
      { fps: 24 },
      { probe: { res: '4k' } },
    ]);
    expect([inputs.mark?.segmentPath, inputs.mark?.outputs]).toEqual([
      's3://b/marked.mp4',
      { probe: { res: '4k' }, grade: { lut: 'warm' } },
    ]);
    // the logs keep the data and the patch each hook applied, though the pending entries do not carry them
    const drafts = pendingLogDrafts(stage, executionId, done);
    expect(drafts.map(({ draft }) => [draft.outputData, draft.patch])).toEqual([
      [{ res: '4k' }, { segmentPath: 's3://b/graded.mp4', metadata: { draft: null } }],
      [{ lut: 'warm' }, { segmentPath: 's3://b/marked.mp4', metadata: { graded: true } }],
      [null, null],
    ]);
    expect(done.pending.map((entry) => 'data' in entry.result || 'patch' in entry.result)).toEqual([
      false,
      false,
      false,
    ]);
    // and nothing given was changed
    expect(stage.metadata).toEqual({ fps: 24, draft: true });
  });

  it('tells each hook the verdict so far: warned from the hook after the first warning on', () => {
    // Prepare
    const run = planOf(
      planned('first'),
      planned('warns'),
      planned('after'),
      planned('notify', { mode: 'detached' }),
    );
    const failed: Attempt = { result: hookResult({ status: 'failed', exitCode: 1 }), hookRevision: 1 };

    // Act
    const done = next(next(next(run), failed), passed());

    // Assess: each logged input as the hook found it; the detached hook gets the verdict that was sent
    const inputs = inputsOf(done);
    expect([inputs.first?.verdict, inputs.warns?.verdict, inputs.after?.verdict]).toEqual([
      'passed',
      'passed',
      'warned',
    ]);
    expect(done.verdict).toBe('warned');
    const sent = next({ ...logsWritten(done, executionId), verdictSent: true }, passed());
    expect(inputsOf(sent).notify?.verdict).toBe('warned');
  });

  it('never applies a failed hook’s patch nor hands on its data, and logs its data', () => {
    // Prepare
    const run = planOf(planned('broken'), planned('after'));
    const failed: Attempt = {
      result: hookResult({
        status: 'failed',
        exitCode: 1,
        data: { why: 'dark' },
        patch: { segmentPath: 's3://b/x.mp4' },
      }),
      hookRevision: 1,
    };

    // Act
    const recorded = next(run, failed);

    // Assess
    expect([recorded.outputs, recorded.patches, recorded.stage?.segmentPath]).toEqual([
      {},
      [],
      's3://b/seg.mp4',
    ]);
    const [draft] = pendingLogDrafts(stage, executionId, recorded);
    expect([draft?.draft.outputData, draft?.draft.patch]).toEqual([{ why: 'dark' }, null]);
  });

  it('fails a passed hook that takes the stage one byte past its bound, and hands on nothing of it', () => {
    // Prepare: seven hooks of 8192 bytes of data and one of 8191: 65535 bytes; `{}` adds 2
    const hooks = Array.from({ length: 9 }, (_, i) => planned(`h${i}`));
    let run = planOf(...hooks);
    for (let i = 0; i < 8; i++)
      run = next(run, passed({ data: { pad: 'x'.repeat((i === 7 ? 8191 : 8192) - 10) } }));

    // Act
    const over = next(run, passed({ data: {} }));

    // Assess
    expect(over.results.at(-1)).toMatchObject({ name: 'h8', status: 'failed', outcome: 'warned' });
    expect(over.pending.at(-1)?.result.errorMessage).toBe(
      "the stage's data and patches would be 65537 bytes as JSON, over the 64 KiB bound on a stage",
    );
    expect(Object.keys(over.outputs)).toHaveLength(8);
    // the log still has the data it returned
    expect(pendingLogDrafts(stage, executionId, over).at(-1)?.draft.outputData).toEqual({});
  });

  it('takes a stage to exactly its bound', () => {
    const hooks = Array.from({ length: 8 }, (_, i) => planned(`h${i}`));
    let run = planOf(...hooks);
    for (let i = 0; i < 8; i++) run = next(run, passed({ data: { pad: 'x'.repeat(8192 - 10) } }));
    expect(run.results.every((r) => r.status === 'passed')).toBe(true);
  });
});

describe('conditions', () => {
  it('skips a hook whose condition does not match, matched on the stage and on an earlier hook’s output', () => {
    // Prepare
    const run = planOf(
      planned('hd', { when: { metadata: { fps: [{ numeric: ['>=', 24] }] } } }),
      planned('for-4k', { when: { outputs: { hd: { res: ['4k'] } } } }),
      planned('for-8k', { when: { outputs: { hd: { res: ['8k'] } } } }),
      planned('patched', { when: { segmentPath: [{ suffix: '-hd.mp4' }] } }),
    );

    // Act
    const afterHd = next(run, passed({ data: { res: '4k' }, patch: { segmentPath: 's3://b/seg-hd.mp4' } }));
    const done = next(next(afterHd));

    // Assess
    expect(done.results.map((r) => [r.name, r.status, r.outcome])).toEqual([
      ['hd', 'passed', 'continued'],
      ['for-4k', 'passed', 'continued'],
      ['for-8k', 'skipped', 'ignored'],
      ['patched', 'passed', 'continued'],
    ]);
    const skipped = pendingLogDrafts(stage, executionId, done).find(
      ({ draft }) => draft.hookName === 'for-8k',
    );
    expect(skipped?.draft).toMatchObject({
      status: 'skipped',
      errorMessage: 'condition not met',
      outcome: 'ignored',
    });
    expect(skipped?.id).toBe(`${executionId.split(':').at(-1)}.2`);
  });

  it('skips from the start, and ends the plan when the last hooks do not match', () => {
    const run = planOf(planned('never', { when: { metadata: { tier: ['gold'] } } }), planned('runs'));
    expect([run.index, run.current?.name, run.results[0]?.status]).toEqual([1, 'runs', 'skipped']);
    const none = planOf(planned('never', { when: { metadata: { tier: ['gold'] } } }));
    expect([none.current, none.results[0]?.status]).toEqual([null, 'skipped']);
    expect(logsDue(none, at)).toBe(true);
  });

  it('checks the conditions after an approved block, and none while blocked', () => {
    // Prepare
    const run = planOf(
      planned('gate', { failureMode: 'block' }),
      planned('never', { when: { metadata: { tier: ['gold'] } } }),
    );
    const blocked = next(run, { result: hookResult({ status: 'failed', exitCode: 1 }), hookRevision: 1 });
    expect([blocked.blocked, blocked.current?.name]).toEqual([true, 'never']);

    // Act
    const review = { reviewId: 'r1', decision: 'approve', by: 'ana', comment: null } as const;
    const approved = reviewApplied(blocked, review, { stage, executionId, at });

    // Assess
    expect([approved.blocked, approved.current, approved.results.at(-1)?.status]).toEqual([
      false,
      null,
      'skipped',
    ]);
  });
});

describe('detached hooks', () => {
  const plan = () =>
    planOf(
      planned('gate'),
      planned('notify', { mode: 'detached', failureMode: 'ignore' }),
      planned('cdn', { mode: 'detached', when: { metadata: { tier: ['gold'] } } }),
    );

  it('stop the loop before the verdict, which lists them as detached, with every log before it written', () => {
    // Act
    const run = next(plan(), passed({ data: { ok: true } }));

    // Assess
    expect(run.current?.name).toBe('notify');
    expect(run.verdictSent).toBe(false);
    expect(run.results.map((r) => [r.name, r.status, r.logId])).toEqual([
      ['gate', 'passed', null],
      ['notify', 'detached', null],
      ['cdn', 'detached', null],
    ]);
    expect(logsDue(run, at)).toBe(true);
    const written = logsWritten(run, executionId);
    expect(written.results.map((r) => r.logId)).toEqual([`${executionId.split(':').at(-1)}.0`, null, null]);
  });

  it('report their own results after the verdict, a condition that does not match among them', () => {
    // Prepare: the verdict went out
    const sent = { ...logsWritten(next(plan()), executionId), verdictSent: true };

    // Act
    const done = logsWritten(
      next(sent, { result: hookResult({ status: 'timed_out', exitCode: null }), hookRevision: 1 }),
      executionId,
    );

    // Assess: the verdict's results are as they went out; the detached ones have their own
    expect(done.results.map((r) => r.status)).toEqual(['passed', 'detached', 'detached']);
    expect(done.detachedResults.map((r) => [r.name, r.status, r.outcome, r.logId])).toEqual([
      ['notify', 'timed_out', 'ignored', `${executionId.split(':').at(-1)}.1`],
      ['cdn', 'skipped', 'ignored', `${executionId.split(':').at(-1)}.2`],
    ]);
    expect(done.current).toBeNull();
  });

  it('are skipped with the rest when a block stands, and leave no placeholder behind', () => {
    const run = planOf(planned('gate', { failureMode: 'block' }), planned('notify', { mode: 'detached' }));
    const blocked = next(run, { result: hookResult({ status: 'failed', exitCode: 1 }), hookRevision: 1 });
    const skipped = skipRemaining(blocked, at);
    expect(skipped.results.map((r) => [r.name, r.status])).toEqual([
      ['gate', 'failed'],
      ['notify', 'skipped'],
    ]);
    expect(skipped.verdict).toBe('blocked');
  });
});
