import { exactShape } from '@stagehooks/core/domain';
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

// The stage contracts as a webhook step receives them: three hooks planned, one recorded and pending.
const hook = (i: number) => ({
  id: `hook_${i}`,
  name: `notify-${i}`,
  type: 'webhook',
  revision: 2,
  failureMode: 'warn',
  isolation: null,
  source: { scopeType: 'project', scopeId: 'p1' },
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
};
const executionId = 'arn:aws:states:us-east-1:000000000000:execution:stagehooks-stage:e';
const samples: Array<[string, z.ZodType, unknown]> = [
  ['RunHookArgs', RunHookArgs, { stage, hook: hook(1), index: 1, executionId, run }],
  ['HookTaskArgs', HookTaskArgs, { stage, hook: hook(1), index: 1, executionId }],
  ['RunStepArgs', RunStepArgs, { stage, run, executionId }],
  ['ResolveEffectiveHooksArgs', ResolveEffectiveHooksArgs, { stage, run }],
  ['ValidateAndClaimArgs', ValidateAndClaimArgs, { event: { id: 'x', detail: { a: 1 } }, executionId }],
  ['AwaitReviewArgs', AwaitReviewArgs, { reviewId: 'review.e.0', taskToken: 'token' }],
  [
    'ApplyReviewDecisionArgs',
    ApplyReviewDecisionArgs,
    { reviewId: 'review.e.0', decision: { decision: 'approve', by: 'ana', comment: 'fine' }, run },
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

describe('exactShape', () => {
  it('counts a string by code points, as zod does', () => {
    // Prepare
    const schema = z.object({ code: z.string().min(2) });
    const check = exactShape(schema) as (value: unknown) => boolean;

    // Act + Assess: one emoji is two UTF-16 units but one code point
    expect(check({ code: '😀' })).toBe(false);
    expect(schema.safeParse({ code: '😀' }).success).toBe(false);
    expect(check({ code: 'a😀' })).toBe(true);
  });

  it('takes the values of an enum from zod, not from the enum object', () => {
    // Prepare: a numeric TypeScript enum's object also maps its values back to its names
    enum Level {
      Low = 0,
      High = 1,
    }
    const check = exactShape(z.object({ level: z.enum(Level) })) as (value: unknown) => boolean;

    // Act + Assess
    expect(check({ level: 1 })).toBe(true);
    expect(check({ level: Level.Low })).toBe(true);
    expect(check({ level: 'High' })).toBe(false);
  });

  it.each(samples)('says yes to a well-formed %s', (_name, schema, sample) => {
    // Act
    const check = exactShape(schema);

    // Assess
    expect(check).toBeDefined();
    expect(check?.(sample)).toBe(true);
    expect(schema.parse(sample)).toStrictEqual(sample);
  });

  it.each(samples)(
    'says yes to a changed %s only where zod accepts it unchanged',
    (_name, schema, sample) => {
      // Prepare
      const check = exactShape(schema) as (value: unknown) => boolean;
      let accepted = 0;
      let refused = 0;

      // Act + Assess: whatever it accepts, zod accepts and returns as it was
      for (const variant of variants(sample)) {
        if (!check(variant)) {
          refused++;
          continue;
        }
        accepted++;
        const parsed = schema.safeParse(variant);
        expect(parsed.success, JSON.stringify(variant)).toBe(true);
        expect(parsed.data).toStrictEqual(variant);
      }
      expect(refused).toBeGreaterThan(10);
      expect(accepted).toBeGreaterThan(0);
    },
  );

  it('declines a schema it cannot read exactly, so zod parses every input', () => {
    // Act + Assess
    expect(exactShape(RecordExecutionArgs)).toBeUndefined();
    expect(exactShape(z.object({ n: z.string().transform((s) => s.length) }))).toBeUndefined();
    expect(exactShape(z.object({ n: z.string().refine((s) => s.length > 2) }))).toBeUndefined();
    expect(exactShape(z.object({ n: z.string().email() }))).toBeUndefined();
    expect(exactShape(z.object({ n: z.email() }))).toBeUndefined();
    const Tree = z.object({
      name: z.string(),
      get children() {
        return z.array(Tree);
      },
    });
    expect(exactShape(Tree)).toBeUndefined();
    expect(exactShape(z.object({ n: z.number().default(1) }))).toBeUndefined();
    expect(exactShape(z.looseObject({ n: z.number() }))).toBeUndefined();
  });
});
