import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { HookCreate, type HookCreateInput, type HookInput } from '@stagehooks/core/domain';
import { DynamoExecutionLogStore, DynamoHookRegistry } from '@stagehooks/core/dynamodb';
import {
  Attempt,
  type HookTaskArgs,
  initialRun,
  type RunState,
  type Stage,
  stageStateMachineDefinition,
  stateNames,
} from '@stagehooks/core/engine';
import { ProcessScriptRunner } from '@stagehooks/core/executors/script';
import type { HttpWebhookSender } from '@stagehooks/core/executors/webhook';
import { createTestTable } from '@test/dynamodb';
import { HttpReceiver, senderTo } from '@test/http-receiver';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepFunctionsTaskReporter } from '../../src/aws';
import { createAwsStageTasks, createStageHandlers } from '../../src/engine';
import { runTaskJob } from '../../src/script-runner';
import { clientConfig, lambdaContext, recordingLogger } from '../fixtures';

// The Lambda handlers and the task-mode script runner, driven as Step Functions drives them: every
// input is JSON that went through the state (serialised and parsed), on DynamoDB Local and real HTTP.
let table: Awaited<ReturnType<typeof createTestTable>>;
let receiver: HttpReceiver;
let sender: HttpWebhookSender;
const sfnClient = new SFNClient(clientConfig);
// Step Functions' task-token API cannot run here: the script runner's SendTaskSuccess is recorded.
const sfn = mockClient(sfnClient);

beforeAll(async () => {
  table = await createTestTable();
  receiver = await HttpReceiver.start();
  sender = senderTo(receiver);
});
afterAll(async () => {
  sender?.close();
  await receiver?.close();
  await table?.drop();
});

const currentOf = (run: RunState) => {
  if (!run.current) throw new Error('no hook is next');
  return run.current;
};
const viaState = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const executionId = 'arn:aws:states:us-east-1:123456789012:execution:stagehooks-stage:job-aws-flow';
const stage: Stage = {
  eventId: '0f1c3b0e-7d7a-4b8e-9c3e-5f0a1d2e3f41',
  hookPoint: 'post_segment',
  jobId: 'job-aws-flow',
  projectId: 'p-aws-flow',
  sceneTypeId: null,
  segmentPath: 's3://bucket/job-aws-flow/seg.mp4',
  metadata: { fps: 24, draft: true },
  sceneContext: {},
};

describe('the stage handlers with AWS-shaped inputs', () => {
  it('hand data and patches from a webhook to a task script to the verdict, skip by condition and keep detached hooks for after it', async () => {
    // Prepare: probe (webhook) -> grade (shell, a Fargate task of its own) -> for-8k (not 8k: skipped),
    // then notify, detached
    const registry = new DynamoHookRegistry(table.doc, { tableName: table.tableName });
    const define = async (
      input: Partial<HookCreateInput> & Pick<HookCreateInput, 'name' | 'type' | 'config'>,
    ) =>
      (
        await registry.create(
          HookCreate.parse({
            hookPoint: 'post_segment',
            scopeType: 'project',
            scopeId: stage.projectId,
            ...input,
          }),
          'test',
        )
      ).hook;
    await define({ name: 'probe', type: 'webhook', sortOrder: 10, config: { url: receiver.url('/probe') } });
    await define({
      name: 'grade',
      type: 'shell',
      sortOrder: 20,
      config: {
        isolation: 'task',
        script: [
          'read -r input',
          // what the probe handed on reaches the task: its data, and the stage as it patched it
          'echo "$input" | grep -q \'"outputs":{"probe":{"res":"4k"}}\' || exit 3',
          'echo "$input" | grep -q \'"segmentPath":"s3://bucket/job-aws-flow/probed.mp4"\' || exit 4',
          'echo \'{"data":{"lut":"warm"},"patch":{"segmentPath":"s3://bucket/job-aws-flow/graded.mp4","metadata":{"graded":true}}}\'',
        ].join('\n'),
      },
    });
    await define({
      name: 'for-8k',
      type: 'webhook',
      sortOrder: 30,
      when: { outputs: { probe: { res: ['8k'] } } },
      config: { url: receiver.url('/for-8k') },
    });
    await define({
      name: 'notify',
      type: 'webhook',
      sortOrder: 1,
      mode: 'detached',
      failureMode: 'ignore',
      config: { url: receiver.url('/notify') },
    });
    receiver.replyAlways((request) =>
      request.url === '/probe'
        ? {
            body: JSON.stringify({
              data: { res: '4k' },
              patch: { segmentPath: 's3://bucket/job-aws-flow/probed.mp4', metadata: { draft: null } },
            }),
          }
        : { status: 200 },
    );
    const tasks = createAwsStageTasks({
      config: { tableName: table.tableName, logRetentionDays: 30 },
      dynamodb: table.client,
      webhooks: sender,
      scripts: new ProcessScriptRunner({ sandbox: 'none' }),
    });
    const handlers = createStageHandlers(tasks);
    sfn.on(SendTaskSuccessCommand).resolves({});

    // Act: ResolveEffectiveHooks, RunWebhook, PrepareScriptTask + RunScriptInTask, RecordExecution
    let run: RunState = await handlers.ResolveEffectiveHooks(
      viaState({ stage, run: initialRun(), executionId }),
      lambdaContext('ResolveEffectiveHooks'),
    );
    expect(run.plan.hooks.map((h) => [h.name, h.mode])).toEqual([
      ['probe', 'inline'],
      ['grade', 'inline'],
      ['for-8k', 'inline'],
      ['notify', 'detached'],
    ]);
    run = await handlers.RunWebhook(
      viaState({ stage, hook: currentOf(run), index: run.index, executionId, run }),
      lambdaContext('RunWebhook'),
    );
    if (!run.current) throw new Error('grade not next');
    // The job as PrepareScriptTask builds it, in the container's STAGEHOOKS_JOB
    const job: HookTaskArgs = {
      stage,
      hook: run.current,
      index: run.index,
      executionId,
      flow: { stage: run.stage, outputs: run.outputs, verdict: run.verdict },
    };
    expect(
      await runTaskJob(
        { taskToken: 'token-flow', job: JSON.stringify(job) },
        { tasks, reporter: new StepFunctionsTaskReporter(sfnClient), log: recordingLogger().log },
        new AbortController().signal,
      ),
    ).toBe(0);
    const attempt = Attempt.parse(
      JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.output ?? 'null'),
    );
    run = await handlers.RecordExecution(
      viaState({ stage, hook: job.hook, index: job.index, executionId, attempt, run }),
      lambdaContext('RecordExecution'),
    );

    // Assess: the verdict is due (the detached hook is next), every log before it written
    expect([run.current?.name, run.verdictSent, run.pending]).toEqual(['notify', false, []]);
    expect(run.results.map((r) => [r.name, r.status, r.logId === null])).toEqual([
      ['probe', 'passed', false],
      ['grade', 'passed', false],
      ['for-8k', 'skipped', false],
      ['notify', 'detached', true],
    ]);
    expect(run.outputs).toEqual({ probe: { res: '4k' }, grade: { lut: 'warm' } });
    expect(run.stage).toEqual({
      segmentPath: 's3://bucket/job-aws-flow/graded.mp4',
      metadata: { fps: 24, graded: true },
    });
    expect(run.patches.map((p) => p.name)).toEqual(['probe', 'grade']);
    expect(receiver.requests.filter((r) => r.url === '/for-8k')).toHaveLength(0);

    // Act: after the verdict (VerdictSent), the detached hook
    run = { ...run, verdictSent: true };
    run = await handlers.RunWebhook(
      viaState({ stage, hook: currentOf(run), index: run.index, executionId, run }),
      lambdaContext('RunWebhook'),
    );

    // Assess
    expect(run.detachedResults.map((r) => [r.name, r.status, r.logId])).toEqual([
      ['notify', 'passed', 'job-aws-flow.3'],
    ]);
    const [notified] = receiver.requests.filter((r) => r.url === '/notify');
    const notifyInput = JSON.parse(notified?.body ?? '{}') as HookInput;
    expect([notifyInput.segmentPath, notifyInput.outputs]).toEqual([
      's3://bucket/job-aws-flow/graded.mp4',
      { probe: { res: '4k' }, grade: { lut: 'warm' } },
    ]);
    const logs = new DynamoExecutionLogStore(table.doc, { tableName: table.tableName, retentionDays: 30 });
    const items = (await logs.listByJob('job-aws-flow')).items;
    const byName = Object.fromEntries(items.map((l) => [l.hookName, l]));
    expect(byName.grade?.outputData).toEqual({ lut: 'warm' });
    expect(byName.grade?.patch).toEqual({
      segmentPath: 's3://bucket/job-aws-flow/graded.mp4',
      metadata: { graded: true },
    });
    expect(byName['for-8k']).toMatchObject({ status: 'skipped', errorMessage: 'condition not met' });
  });

  it('give a task script what was handed on: PrepareScriptTask puts it in the job', () => {
    const states = stageStateMachineDefinition().States as Record<
      string,
      { Parameters?: Record<string, unknown> }
    >;
    expect(states[stateNames.prepareScriptTask]?.Parameters?.flow).toEqual({
      'stage.$': '$.run.stage',
      'outputs.$': '$.run.outputs',
      'verdict.$': '$.run.verdict',
    });
  });
});
