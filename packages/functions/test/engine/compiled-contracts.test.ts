import {
  ApplyReviewDecisionArgs,
  AwaitReviewArgs,
  HookTaskArgs,
  RecordExecutionArgs,
  ResolveEffectiveHooksArgs,
  RunHookArgs,
  RunStepArgs,
  ValidateAndClaimArgs,
} from '@stagehooks/core/engine';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

/*
 * The stage handlers parse every Task input with its contract compiled (`z.compile`, see
 * packages/functions/src/engine/handlers.ts). The compiled parser must answer exactly as zod's runtime
 * one: the same data for good input, the same issues for bad; checked on real contract inputs and on
 * every variant of them with one thing changed, so a zod upgrade that made them differ fails here.
 */

// The stage contracts as a webhook step receives them: three hooks planned, one recorded and pending.
const hook = (i: number) => ({
  id: `hook_${i}`,
  name: `notify-${i}`,
  type: 'webhook',
  revision: 2,
  failureMode: 'warn',
  isolation: null,
  source: { scopeType: 'project', scopeId: 'p1' },
  mode: i === 2 ? 'detached' : 'inline',
  when: i === 1 ? { metadata: { fps: [{ numeric: ['>=', 24] }] } } : null,
});
const stage = {
  eventId: 'evt-1',
  hookPoint: 'post_segment',
  jobId: 'job-1',
  projectId: 'p1',
  sceneTypeId: null,
  segmentPath: 's3://bucket/seg-1.mp4',
  // Keys named like Object.prototype members are data like any other (not `constructor`: toStrictEqual reads it as the type).
  metadata: JSON.parse('{"fps":24,"tags":["a"],"toString":{"__proto__":1}}'),
  sceneContext: {},
};
const run = {
  plan: { hooks: [hook(0), hook(1), hook(2)], count: 3 },
  index: 1,
  current: hook(1),
  results: [
    {
      hookId: 'hook_0',
      name: 'notify-0',
      status: 'passed',
      outcome: 'continued',
      durationMs: 3,
      logId: null,
    },
  ],
  verdict: 'passed',
  blocked: false,
  review: null,
  last: { logId: 'e.0', hookId: 'hook_0', name: 'notify-0', errorMessage: null },
  pending: [
    {
      index: 0,
      hookRevision: 2,
      result: {
        status: 'passed',
        exitCode: null,
        stdout: null,
        stderr: null,
        responseStatus: 200,
        responseBody: '{"ok":true}',
        errorMessage: null,
        message: 'fine',
        truncated: false,
        startedAt: '2026-11-21T10:00:00.000Z',
        finishedAt: '2026-11-21T10:00:00.003Z',
        durationMs: 3,
      },
      status: 'passed',
      outcome: 'continued',
      recordedAt: 1795000000000,
    },
  ],
  logsError: null,
  outputs: { 'notify-0': { frames: 240, codec: 'h264' } },
  stage: { segmentPath: 's3://bucket/seg-1-graded.mp4', metadata: { fps: 24, graded: true } },
  patches: [
    {
      name: 'notify-0',
      hookId: 'hook_0',
      patch: { segmentPath: 's3://bucket/seg-1-graded.mp4', metadata: { graded: true, tags: null } },
    },
  ],
  verdictSent: false,
  detachedResults: [],
};
const executionId = 'arn:aws:states:us-east-1:000000000000:execution:stagehooks-stage:e';
const samples: Array<[string, z.ZodType, unknown]> = [
  ['RunHookArgs', RunHookArgs, { stage, hook: hook(1), index: 1, executionId, run }],
  [
    'HookTaskArgs',
    HookTaskArgs,
    {
      stage,
      hook: hook(1),
      index: 1,
      executionId,
      flow: { stage: run.stage, outputs: run.outputs, verdict: run.verdict },
    },
  ],
  [
    'RecordExecutionArgs',
    RecordExecutionArgs,
    {
      stage,
      hook: hook(1),
      index: 1,
      executionId,
      run,
      attempt: { result: run.pending[0]?.result, hookRevision: 2 },
    },
  ],
  [
    'RecordExecutionArgs of a failed runner',
    RecordExecutionArgs,
    {
      stage,
      hook: hook(1),
      index: 1,
      executionId,
      run,
      attempt: { runnerError: { error: 'States.Timeout', cause: null } },
    },
  ],
  ['RunStepArgs', RunStepArgs, { stage, run, executionId }],
  ['ResolveEffectiveHooksArgs', ResolveEffectiveHooksArgs, { stage, run, executionId }],
  ['ValidateAndClaimArgs', ValidateAndClaimArgs, { event: { id: 'x', detail: { a: 1 } }, executionId }],
  ['AwaitReviewArgs', AwaitReviewArgs, { reviewId: 'review.e.0', taskToken: 'token' }],
  [
    'ApplyReviewDecisionArgs',
    ApplyReviewDecisionArgs,
    {
      reviewId: 'review.e.0',
      decision: { decision: 'approve', by: 'ana', comment: 'fine' },
      run,
      stage,
      executionId,
    },
  ],
];

const replacements: unknown[] = [
  undefined,
  null,
  '',
  'x',
  '😀',
  'a😀',
  0,
  -1,
  1.5,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  {},
  [],
  { extra: 1 },
];

/** Every variant of `value` with one thing changed: a value replaced, a key removed, or one added. */
function* variants(value: unknown): Generator<unknown> {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      for (const changed of [...replacements, ...variants(item)]) {
        yield value.map((v, j) => (j === i ? changed : v));
      }
    }
    yield [...value, value[0] ?? 1];
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const { [key]: _removed, ...rest } = record;
      yield rest;
      for (const changed of [...replacements, ...variants(record[key])]) yield { ...record, [key]: changed };
    }
    yield { ...record, unknownKey: 1 };
    const rest = JSON.stringify(record).slice(1);
    yield JSON.parse(`{"__proto__": {"polluted": true}${rest === '}' ? '' : ','} ${rest}`);
  }
}

describe('the stage contracts, compiled', () => {
  it.each(samples)('compile strictly and parse a well-formed %s unchanged', (_name, schema, sample) => {
    // Act
    const compiled = z.compile(schema, { strict: true });

    // Assess
    expect(compiled.parse(sample)).toStrictEqual(sample);
  });

  it.each(samples)('parse every changed %s as the runtime parser does', (_name, schema, sample) => {
    // Prepare
    const compiled = z.compile(schema, { strict: true });
    let accepted = 0;
    let refused = 0;

    // Act + Assess
    for (const variant of variants(sample)) {
      const expected = schema.safeParse(variant);
      const actual = compiled.safeParse(variant);
      expect(actual.success, JSON.stringify(variant)).toBe(expected.success);
      if (expected.success) {
        accepted++;
        expect(actual.data).toStrictEqual(expected.data);
      } else {
        refused++;
        expect(actual.error?.issues).toStrictEqual(expected.error.issues);
      }
    }
    expect(refused).toBeGreaterThan(10);
    expect(accepted).toBeGreaterThan(0);
  });
});
