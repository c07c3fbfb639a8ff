import { type EventBridgeEvent, stageCompletedDetailType, stagehooksBusName } from '@stagehooks/core/domain';
import {
  definitionPlaceholders,
  type StageTaskDeps,
  StageTasks,
  stageStateMachineDefinition,
  stateNames,
  substitutePlaceholders,
} from '@stagehooks/core/engine';
import { createStageHandlers, type StageHandlers } from '@stagehooks/functions/engine';
import { localTaskHandlers } from '@stagehooks/local/engine';
import { LocalEventBus } from '@stagehooks/local/event-bus';
import { LocalStepFunctions } from '@stagehooks/local/step-functions';
import { stageReachedEvent } from '@test/events';
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';

/** Handlers that answer with the time their Lambda context says they have left. */
const timeLeft = async (_event: unknown, context: Context) => context.getRemainingTimeInMillis();
const handlers = localTaskHandlers(
  {
    [stateNames.runWebhook]: timeLeft,
    [stateNames.runScriptInPool]: timeLeft,
    [stateNames.awaitReview]: async (_event: unknown, context: Context) => ({
      left: context.getRemainingTimeInMillis(),
    }),
  } as unknown as StageHandlers,
  new LocalEventBus(),
);
const contextOf = (timeoutSeconds: number) => ({
  executionArn: 'arn:aws:states:us-east-1:000000000000:execution:m:e',
  timeoutSeconds,
  waitForTaskToken: vi.fn(),
});

// middy ends a handler 5 ms before its context runs out of time: a fixed figure there would cut a 60 s
// webhook or a 15 min script, which their states allow, at that figure.
describe('local task handlers', () => {
  it('give a Lambda task the time its state allows, as a function timeout does', async () => {
    // Act
    const left = await handlers[stateNames.runWebhook]({}, contextOf(90));

    // Assess
    expect(left).toBeGreaterThan(89_000);
    expect(left).toBeLessThanOrEqual(90_000);
  });

  it('give a pooled script the time its state allows', async () => {
    // Act
    const left = await handlers[stateNames.runScriptInPool]({ MessageBody: { job: {} } }, contextOf(960));

    // Assess
    expect(left).toBeGreaterThan(959_000);
  });

  it('give the review waiter a Lambda run, not the review timeout', async () => {
    // Act
    const answer = await handlers[stateNames.awaitReview](
      { Payload: { reviewId: 'r1', taskToken: 't1' } },
      contextOf(7 * 24 * 3600),
    );

    // Assess
    expect(answer).toEqual({ left: expect.any(Number) });
    expect((answer as { left: number }).left).toBeLessThanOrEqual(30_000);
  });
});

describe('the local dispatch', () => {
  /** Handlers that answer the payload they were given. */
  const echo = async (event: unknown) => ({ given: event });
  const echoing = localTaskHandlers(
    {
      [stateNames.runScriptInPool]: echo,
      [stateNames.runScriptInTask]: echo,
      [stateNames.awaitReview]: async () => undefined,
    } as unknown as StageHandlers,
    new LocalEventBus(),
  );

  it('has a handler for every Task state of the definition (the emulator would call AWS for one without)', () => {
    const tasks = Object.entries(stageStateMachineDefinition().States as Record<string, { Type: string }>)
      .filter(([, state]) => state.Type === 'Task')
      .map(([name]) => name);
    expect(Object.keys(echoing).sort()).toEqual(tasks.sort());
  });

  it("hands a pooled script's runner the job from the queue message, and a task's from its container's env", async () => {
    // Prepare
    const job = { index: 2 };
    const environment = [
      { Name: 'STAGEHOOKS_TASK_TOKEN', Value: 't1' },
      { Name: 'STAGEHOOKS_JOB', Value: JSON.stringify(job) },
    ];

    // Act
    const queued = await echoing[stateNames.runScriptInPool](
      { MessageBody: { taskToken: 't1', job } },
      contextOf(960),
    );
    const ownTask = await echoing[stateNames.runScriptInTask](
      { Overrides: { ContainerOverrides: [{ Name: 'script-runner', Environment: environment }] } },
      contextOf(960),
    );

    // Assess
    expect(queued).toEqual({ given: job });
    expect(ownTask).toEqual({ given: job });
  });

  it('leaves a waitForTaskToken state waiting for its token when its Lambda knows no output yet', async () => {
    // Prepare
    const context = contextOf(60);
    context.waitForTaskToken.mockResolvedValue({ decision: 'approve' });

    // Act
    const output = await echoing[stateNames.awaitReview](
      { Payload: { reviewId: 'r1', taskToken: 't1' } },
      context,
    );

    // Assess
    expect(context.waitForTaskToken).toHaveBeenCalledWith('t1');
    expect(output).toEqual({ decision: 'approve' });
  });
});

describe('the stage machine on the local emulator', () => {
  /** The real definition and handlers; the claim store and the rejection record fail with a fault no retry clears. */
  function brokenClaims() {
    const bus = new LocalEventBus();
    const verdicts: EventBridgeEvent[] = [];
    bus.subscribe((event) => {
      if (event['detail-type'] === stageCompletedDetailType) verdicts.push(event);
    });
    const resolve = vi.fn();
    const gone = async () => {
      throw new Error('the claims table is gone');
    };
    const tasks = new StageTasks({
      claims: { claim: gone, recordRejection: gone },
      registry: { generations: resolve, hooksAt: resolve },
    } as unknown as StageTaskDeps);
    const sfn = new LocalStepFunctions({ freezeTaskInputs: true });
    const definition = substitutePlaceholders(
      stageStateMachineDefinition(),
      Object.fromEntries(
        definitionPlaceholders.map((name) => [
          name,
          name === 'EventBusName'
            ? stagehooksBusName
            : `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
        ]),
      ) as never,
    );
    const arn = sfn.createStateMachine(
      'stage',
      definition,
      localTaskHandlers(createStageHandlers(tasks), bus),
    );
    const run = async (event: unknown) => {
      const { executionArn } = sfn.startExecution({ stateMachineArn: arn, input: JSON.stringify(event) });
      return { executionArn, record: await sfn.whenDone(executionArn) };
    };
    return { sfn, run, verdicts, resolve };
  }

  it('ends a stage whose event cannot be claimed blocked, with a verdict, and runs no hook', async () => {
    // Prepare
    const { sfn, run, verdicts, resolve } = brokenClaims();

    // Act
    const { executionArn, record } = await run(stageReachedEvent());

    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(verdicts.map((v) => v.detail)).toEqual([
      {
        jobId: 'job-42',
        hookPoint: 'post_segment',
        verdict: 'blocked',
        executionId: executionArn,
        results: [],
        review: null,
        logsError: null,
        outputs: {},
        stage: null,
        patches: [],
      },
    ]);
    expect(record.raw.filter((e) => e.type === 'StateEntered').map((e) => e.state?.name)).toEqual([
      stateNames.validateAndClaim,
      stateNames.claimFailed,
      stateNames.endUnclaimedStage,
      stateNames.emitVerdict,
      stateNames.anyDetached,
      stateNames.stageComplete,
    ]);
    expect(resolve).not.toHaveBeenCalled();
    await sfn.close();
  });

  it('sends no verdict for an event that names no job, when it cannot be recorded as rejected either', async () => {
    // Prepare: a malformed event (no jobId, an unknown hook point)
    const { sfn, run, verdicts } = brokenClaims();
    const event = { ...stageReachedEvent(), detail: { hookPoint: 'somewhere', projectId: 'p1' } };

    // Act
    const { record } = await run(event);

    // Assess
    expect(record).toMatchObject({ status: 'FAILED', error: 'StageEvent.NotClaimed' });
    expect(verdicts).toEqual([]);
    await sfn.close();
  });
});
