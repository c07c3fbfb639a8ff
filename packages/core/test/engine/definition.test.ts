import {
  definitionPlaceholders,
  initialRun,
  RunState,
  stageStateMachineDefinition,
  stateNames,
  substitutePlaceholders,
} from '@stagehooks/core/engine';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';

const filled = () =>
  substitutePlaceholders(
    stageStateMachineDefinition(),
    Object.fromEntries(
      definitionPlaceholders.map((name) => [
        name,
        `arn:aws:lambda:us-east-1:123456789012:function:stagehooks-${name}`,
      ]),
    ) as Record<(typeof definitionPlaceholders)[number], string>,
  );

type State = {
  Type: string;
  TimeoutSeconds?: number;
  Resource?: string;
  Next?: string;
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
};
const states = () => Object.entries(filled().States as Record<string, State>);

describe('the stage state machine definition', () => {
  it('is valid Amazon States Language (asl-validator, paths and ARNs checked)', () => {
    // Act: the validator adds fields, so it gets a copy
    const result = aslValidator(structuredClone(filled()), { checkPaths: true, checkArn: true });

    // Assess
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('has an explicit TimeoutSeconds on every Task (the emulator defaults to 60 s)', () => {
    const tasks = states().filter(([, state]) => state.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(5);
    for (const [name, state] of tasks) expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
  });

  it('uses JSONPath only: no JSONata, no variables', () => {
    const text = JSON.stringify(stageStateMachineDefinition());
    expect(text).not.toMatch(/QueryLanguage|JSONata|"Assign"|\{%/);
  });

  it('fills every placeholder and refuses to leave one unfilled', () => {
    expect(JSON.stringify(filled())).not.toContain('${');
    expect(() => substitutePlaceholders(stageStateMachineDefinition(), {} as never)).toThrow(
      /no value for definition placeholder/,
    );
  });

  it('waits for a review as long as configured', () => {
    const definition = stageStateMachineDefinition({ reviewTimeoutSeconds: 90 });
    const awaitReview = (definition.States as Record<string, State>)[stateNames.awaitReview];
    expect(awaitReview?.TimeoutSeconds).toBe(90);
    expect(awaitReview?.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
  });

  it('sends every runner failure to RunnerFailed, so the execution is still logged', () => {
    for (const name of [stateNames.runWebhook, stateNames.runScriptInPool, stateNames.runScriptInTask]) {
      const state = (filled().States as Record<string, State>)[name];
      expect(
        state?.Catch?.map((c) => c.Next),
        name,
      ).toEqual([stateNames.runnerFailed]);
    }
  });
});

describe('failure paths', () => {
  it('gives up on a script container that stops sending heartbeats long before the state times out', () => {
    const task = (Object.fromEntries(states()) as Record<string, State & { HeartbeatSeconds?: number }>)[
      stateNames.runScriptInTask
    ];
    expect(task?.HeartbeatSeconds).toBe(300);
    expect(task?.HeartbeatSeconds).toBeLessThan(task?.TimeoutSeconds ?? 0);
    expect(task?.Catch?.[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: stateNames.runnerFailed });
  });

  it('ends the stage blocked, with a verdict, when the event cannot be claimed', () => {
    const all = Object.fromEntries(states()) as Record<string, State & { Parameters?: unknown }>;
    expect(all[stateNames.validateAndClaim]?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.claimError', Next: stateNames.claimFailed },
    ]);
    expect(all[stateNames.claimFailed]).toMatchObject({
      Type: 'Choice',
      Choices: [{ Next: stateNames.endUnclaimedStage }],
      Default: stateNames.eventNotClaimed,
    });
    expect(all[stateNames.endUnclaimedStage]).toMatchObject({
      Type: 'Pass',
      Parameters: { run: { verdict: 'blocked', blocked: true, results: [], review: null, pending: [] } },
      Next: stateNames.emitVerdict,
    });
    expect(all[stateNames.eventNotClaimed]).toMatchObject({ Type: 'Fail', Error: 'StageEvent.NotClaimed' });
  });

  it('ends the stage with a verdict when a step after the claim fails for good', () => {
    const all = Object.fromEntries(states()) as Record<
      string,
      State & { Catch?: Array<{ ErrorEquals: string[]; Next: string }> }
    >;
    for (const name of [
      stateNames.resolveEffectiveHooks,
      stateNames.recordExecution,
      stateNames.flagForReview,
      stateNames.applyReviewDecision,
      stateNames.skipRemainingHooks,
    ]) {
      expect(all[name]?.Catch?.at(-1), name).toMatchObject({
        ErrorEquals: ['States.ALL'],
        Next: stateNames.stageFailed,
      });
    }
    // Its pending logs are written on the way; if even that fails, the verdict still goes out.
    expect(all[stateNames.stageFailed]?.Next).toBe(stateNames.writeExecutionLogs);
    expect(all[stateNames.writeExecutionLogs]?.Next).toBe(stateNames.afterLogs);
    expect(all[stateNames.writeExecutionLogs]?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.logsError', Next: stateNames.logsNotWritten },
    ]);
    // ...saying so in the run state, which the verdict carries.
    expect(all[stateNames.logsNotWritten]).toMatchObject({
      Type: 'Pass',
      ResultPath: '$.run.logsError',
      Next: stateNames.afterLogs,
    });
    // ...and past it, the verdict, unless it went out already (the detached hooks' report then).
    expect(all[stateNames.afterLogs]).toMatchObject({
      Choices: [
        { Variable: '$.run.verdictSent', BooleanEquals: true, Next: stateNames.emitDetachedCompleted },
      ],
      Default: stateNames.emitVerdict,
    });
  });

  it('ends a failed stage blocked and keeps every other RunState field as it was', () => {
    // Prepare: a run with a value of its own in every field
    const run: RunState = {
      ...initialRun(),
      plan: { hooks: [], count: 3 },
      index: 2,
      current: {
        id: 'h2',
        name: 'b',
        type: 'webhook',
        revision: 1,
        failureMode: 'block',
        isolation: null,
        source: { scopeType: 'studio', scopeId: null },
        mode: 'inline',
        when: null,
      },
      results: [
        { hookId: 'h1', name: 'a', status: 'passed', outcome: 'continued', durationMs: 4, logId: 'l1' },
      ],
      verdict: 'warned',
      review: { reviewId: 'r1', decision: 'approve', by: 'alice', comment: null },
      last: { logId: 'l1', hookId: 'h1', name: 'a', errorMessage: null },
      logsError: { message: 'not written', failure: { Error: 'StoreUnavailableError' } },
    };
    const parameters = (
      Object.fromEntries(states()) as Record<string, State & { Parameters: Record<string, unknown> }>
    )[stateNames.stageFailed]?.Parameters;

    // Act: what the Pass state makes of `$.run` (it reads only `$.run.<key>` paths)
    const output = Object.fromEntries(
      Object.entries(parameters ?? {}).map(([key, value]) =>
        key.endsWith('.$')
          ? [key.slice(0, -2), run[String(value).replace('$.run.', '') as keyof RunState]]
          : [key, value],
      ),
    );

    // Assess: every key of the schema, a new one too, is set or copied
    expect(Object.keys(output).sort()).toEqual([...RunState.keyof().options].sort());
    expect(RunState.parse(output)).toEqual({ ...run, current: null, verdict: 'blocked', blocked: true });
  });

  it('rejects a review only on a deliberate Review.Rejected, and retries its own faults', () => {
    const awaitReview = (
      Object.fromEntries(states()) as Record<
        string,
        State & { Catch: Array<{ ErrorEquals: string[]; Next: string }>; Retry?: unknown[] }
      >
    )[stateNames.awaitReview];
    expect(awaitReview?.Catch.map((c) => [c.ErrorEquals[0], c.Next])).toEqual([
      ['States.Timeout', stateNames.reviewTimedOut],
      ['Review.Rejected', stateNames.reviewFailed],
      ['States.ALL', stateNames.stageFailed],
    ]);
    expect(awaitReview?.Retry).toHaveLength(1);
  });
});
