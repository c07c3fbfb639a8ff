import type { ExecutionStatus, FailureMode, HookRunResult } from '@stagehooks/core/domain';
import {
  type Attempt,
  initialRun,
  invocationIdOf,
  logsDue,
  logsWritten,
  outcomeOf,
  PENDING_BUDGET_BYTES,
  type PlannedHook,
  pendingLogDrafts,
  pendingLogLimits,
  type RunState,
  recordAttempt,
  reviewApplied,
  skipRemaining,
  withinPendingBudget,
} from '@stagehooks/core/engine';
import { hookResult } from '@test/results';
import { executionArn, plannedHook as planned, runOf, stageOf } from '@test/stages';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// Pure: plain objects in, plain objects out; no store, no executor.
const executionId = executionArn('job-pure-1');
const at = new Date('2026-11-20T12:00:00.000Z');

const result = (status: HookRunResult['status'] = 'passed', extra: Partial<HookRunResult> = {}) =>
  hookResult({ status, exitCode: status === 'passed' ? 0 : 1, ...extra });

/** Records the attempt at the run's current hook, as RunWebhook or RecordExecution would. */
function next(run: RunState, attempt: Attempt = { result: result(), hookRevision: 1 }, when = at): RunState {
  if (!run.current) throw new Error('no hook left to record');
  return recordAttempt(run, { stage, hook: run.current, index: run.index, executionId, attempt, at: when });
}

const stage = stageOf('job-pure');

describe('outcomeOf', () => {
  it('maps a failure by the failure mode, and a pass or a skip regardless of it', () => {
    expect(outcomeOf('failed', 'block')).toBe('blocked');
    expect(outcomeOf('timed_out', 'warn')).toBe('warned');
    expect(outcomeOf('error', 'ignore')).toBe('ignored');
    expect(outcomeOf('passed', 'block')).toBe('continued');
    expect(outcomeOf('skipped', 'block')).toBe('ignored');
  });
});

describe('recordAttempt', () => {
  it('moves on to the next hook with an uncited result, a pending log and the verdict so far', () => {
    // Prepare
    const run = runOf(planned('first'), planned('second'));

    // Act
    const recorded = next(run, { result: result('failed', { message: 'too dark' }), hookRevision: 3 });

    // Assess
    expect(recorded).toMatchObject({
      index: 1,
      current: { name: 'second' },
      verdict: 'warned',
      blocked: false,
      results: [{ hookId: 'id-first', name: 'first', status: 'failed', outcome: 'warned', logId: null }],
      last: { logId: 'job-pure-1.0', name: 'first', errorMessage: 'too dark' },
      pending: [{ index: 0, hookRevision: 3, status: 'failed', outcome: 'warned', recordedAt: at.getTime() }],
    });
    expect(run).toEqual(runOf(planned('first'), planned('second')));
  });

  it('records a runner that failed as an error of the planned revision, naming what failed', () => {
    const run = runOf(planned('crashy', { revision: 4, failureMode: 'block' }));
    const recorded = next(run, { runnerError: { error: 'Lambda.Unknown', cause: 'signal: killed' } });
    expect(recorded).toMatchObject({ blocked: true, verdict: 'passed', current: null });
    expect(recorded.pending[0]).toMatchObject({ hookRevision: 4, status: 'error', outcome: 'blocked' });
    expect(recorded.pending[0]?.result.errorMessage).toBe(
      'the hook runner failed: Lambda.Unknown: signal: killed',
    );
  });

  it('keeps a warned verdict once warned, and keeps the last message short', () => {
    const run = runOf(planned('a'), planned('b', { failureMode: 'ignore' }), planned('c'));
    const warned = next(run, { result: result('timed_out'), hookRevision: 1 });
    const ignored = next(warned, {
      result: result('failed', { errorMessage: 'é'.repeat(2000) }),
      hookRevision: 1,
    });
    expect(ignored.verdict).toBe('warned');
    expect(Buffer.byteLength(ignored.last?.errorMessage ?? '')).toBeLessThanOrEqual(1024);
  });
});

describe('logsDue', () => {
  const two = runOf(planned('a'), planned('b'));

  it('lets the log of a hook that another follows at once wait', () => {
    expect(logsDue(next(two), at)).toBe(false);
    expect(logsDue(two, at)).toBe(false);
  });

  it('writes before a wait: a block, the end of the plan, a Fargate task next', () => {
    expect(logsDue(next(two, { result: result('failed'), hookRevision: 1 }), at)).toBe(false);
    const gate = runOf(planned('gate', { failureMode: 'block' }), planned('b'));
    expect(logsDue(next(gate, { result: result('failed'), hookRevision: 1 }), at)).toBe(true);
    expect(logsDue(next(runOf(planned('only'))), at)).toBe(true);
    const toTask = runOf(planned('a'), planned('s', { type: 'shell', isolation: 'task' }));
    expect(logsDue(next(toTask), at)).toBe(true);
    const toPool = runOf(planned('a'), planned('s', { type: 'shell', isolation: 'pool' }));
    expect(logsDue(next(toPool), at)).toBe(false);
  });

  it('writes an old entry, a full batch, a large batch and a large result', () => {
    const waiting = next(two, undefined, new Date(at.getTime() - pendingLogLimits.ageMs));
    expect(logsDue(waiting, new Date(at.getTime() - 1))).toBe(false);
    expect(logsDue(waiting, at)).toBe(true);

    const many = Array.from({ length: pendingLogLimits.entries + 1 }, (_, i) => planned(`h${i}`));
    let run = runOf(...many);
    const due: boolean[] = [];
    for (let i = 0; i < pendingLogLimits.entries; i++) {
      run = next(run);
      due.push(logsDue(run, at));
    }
    expect(due.indexOf(true)).toBe(pendingLogLimits.entries - 1);

    const half = 'x'.repeat(pendingLogLimits.entryBytes - 1024);
    const hooks = Array.from({ length: 6 }, (_, i) => planned(`m${i}`));
    let medium = runOf(...hooks);
    const mediumDue: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      medium = next(medium, { result: result('passed', { stdout: half }), hookRevision: 1 });
      mediumDue.push(logsDue(medium, at));
    }
    expect(mediumDue).toEqual([false, false, false, false, true]);

    const large = next(two, {
      result: result('passed', { stdout: 'x'.repeat(pendingLogLimits.entryBytes + 1) }),
      hookRevision: 1,
    });
    expect(logsDue(large, at)).toBe(true);
  });
});

describe('logsWritten', () => {
  it('cites the written logs, and no result whose log was not pending', () => {
    const run = next(next(runOf(planned('a'), planned('b'), planned('c'))));
    const firstWritten = logsWritten({ ...run, pending: run.pending.slice(0, 1) }, executionId);
    expect(firstWritten.results.map((r) => r.logId)).toEqual(['job-pure-1.0', null]);
    expect(firstWritten.pending).toEqual([]);
    expect(logsWritten(run, executionId).results.map((r) => r.logId)).toEqual([
      'job-pure-1.0',
      'job-pure-1.1',
    ]);
  });
});

describe('skipRemaining', () => {
  it('records the hooks after a block as skipped, pending with the block’s log, the verdict blocked', () => {
    // Prepare: a gate failed; its log waits
    const gate = planned('gate', { failureMode: 'block' });
    const blocked = next(runOf(gate, planned('after'), planned('last')), {
      result: result('failed'),
      hookRevision: 1,
    });

    // Act
    const skipped = skipRemaining(blocked, at);
    const written = logsWritten(skipped, executionId);

    // Assess
    expect(skipped).toMatchObject({ index: 3, current: null, verdict: 'blocked' });
    expect(skipped.pending.map((p) => [p.index, p.status, p.outcome])).toEqual([
      [0, 'failed', 'blocked'],
      [1, 'skipped', 'ignored'],
      [2, 'skipped', 'ignored'],
    ]);
    expect(skipped.pending[1]?.result.errorMessage).toBe('not run: the stage was blocked by gate');
    expect(written.results.map((r) => [r.name, r.status, r.logId])).toEqual([
      ['gate', 'failed', 'job-pure-1.0'],
      ['after', 'skipped', 'job-pure-1.1'],
      ['last', 'skipped', 'job-pure-1.2'],
    ]);
    expect(pendingLogDrafts(stage, executionId, skipped).map(({ id, draft }) => [id, draft.status])).toEqual([
      ['job-pure-1.0', 'failed'],
      ['job-pure-1.1', 'skipped'],
      ['job-pure-1.2', 'skipped'],
    ]);
  });
});

describe('reviewApplied', () => {
  it('clears the block on approval and keeps the verdict; anything else blocks the stage', () => {
    const blocked: RunState = { ...initialRun(), blocked: true, verdict: 'warned' };
    const review = { reviewId: 'r1', by: 'ana', comment: null };
    expect(reviewApplied(blocked, { ...review, decision: 'approve' })).toMatchObject({
      blocked: false,
      verdict: 'warned',
      review: { decision: 'approve' },
    });
    expect(reviewApplied(blocked, { ...review, decision: 'reject' })).toMatchObject({
      blocked: true,
      verdict: 'blocked',
    });
  });
});

describe('withinPendingBudget', () => {
  it('leaves logs within the budget as they are, and cuts larger ones to a short head each', () => {
    const hooks = Array.from({ length: 8 }, (_, i) => planned(`big${i}`));
    let run = runOf(...hooks);
    for (const _ of hooks) {
      run = next(run, { result: result('passed', { responseBody: 'y'.repeat(16 * 1024) }), hookRevision: 1 });
    }
    const small = next(runOf(planned('a'), planned('b')));
    expect(withinPendingBudget(small)).toBe(small);

    const bounded = withinPendingBudget(run);
    expect(Buffer.byteLength(JSON.stringify(bounded.pending))).toBeLessThanOrEqual(PENDING_BUDGET_BYTES);
    expect(bounded.pending[0]?.result).toMatchObject({ truncated: true, status: 'passed' });
    expect(bounded.results).toEqual(run.results);
  });
});

describe('the run state over any stage', () => {
  const step = fc.record({
    status: fc.constantFrom<ExecutionStatus & HookRunResult['status']>(
      'passed',
      'failed',
      'timed_out',
      'error',
    ),
    failureMode: fc.constantFrom<FailureMode>('block', 'warn', 'ignore'),
    isolation: fc.constantFrom<PlannedHook['isolation']>(null, 'pool', 'task'),
    /** Whether the store takes the write when one is due. */
    stored: fc.boolean(),
    /** How long after the previous one the hook is recorded. */
    afterMs: fc.integer({ min: 0, max: 3_000 }),
    outputBytes: fc.constantFrom(0, 2_000, 9_000),
  });

  it('never cites a log that was not written, and keeps every uncited one pending', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), fc.boolean(), (steps, endStored) => {
        // Prepare: a plan of the drawn hooks, run as StageTasks.record runs them
        const hooks = steps.map((s, i) =>
          planned(`h${i}`, {
            failureMode: s.failureMode,
            isolation: s.isolation,
            type: s.isolation ? 'shell' : 'webhook',
          }),
        );
        let run = runOf(...hooks);
        const written = new Set<string>();
        const write = (stored: boolean) => {
          if (!stored) return false;
          for (const { id } of pendingLogDrafts(stage, executionId, run)) written.add(id);
          run = logsWritten(run, executionId);
          return true;
        };
        let now = at.getTime();

        // Act
        for (const s of steps) {
          if (run.blocked) break;
          now += s.afterMs;
          run = next(
            run,
            { result: result(s.status, { stdout: 'z'.repeat(s.outputBytes) }), hookRevision: 1 },
            new Date(now),
          );
          if (logsDue(run, new Date(now)) && !write(s.stored)) run = withinPendingBudget(run);
        }
        if (run.blocked) run = skipRemaining(run, new Date(now));
        write(endStored);

        // Assess
        const pendingIds = new Set(run.pending.map((p) => invocationIdOf(executionId, p.index)));
        for (const [index, r] of run.results.entries()) {
          if (r.logId === null) expect(pendingIds.has(invocationIdOf(executionId, index))).toBe(true);
          else expect(written.has(r.logId)).toBe(true);
        }
        expect(run.results.length).toBe(run.blocked ? hooks.length : run.index);
      }),
    );
  });
});
