import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { HookCreate } from '@stagehooks/core/domain';
import { DynamoHookRegistry } from '@stagehooks/core/dynamodb';
import { Attempt } from '@stagehooks/core/engine';
import { ProcessScriptRunner } from '@stagehooks/core/executors/script';
import { createTestTable } from '@test/dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StepFunctionsTaskReporter } from '../../src/aws';
import { createAwsStageTasks } from '../../src/engine';
import { runTaskJob, type ScriptJobDeps } from '../../src/script-runner';
import { clientConfig, defineShellHook, jobFor, recordingLogger } from '../fixtures';

const sfnClient = new SFNClient(clientConfig);
const sfn = mockClient(sfnClient);
afterEach(() => sfn.reset());

let table: Awaited<ReturnType<typeof createTestTable>>;
let deps: ScriptJobDeps;

beforeAll(async () => {
  table = await createTestTable();
  const tasks = createAwsStageTasks({
    config: { tableName: table.tableName, logRetentionDays: 30 },
    dynamodb: table.client,
    // As in the container: no bubblewrap on Fargate.
    scripts: new ProcessScriptRunner({ sandbox: 'none' }),
  });
  deps = {
    tasks,
    reporter: new StepFunctionsTaskReporter(sfnClient),
    log: recordingLogger().log,
  };
});
afterAll(() => table?.drop());

const notStopping = () => new AbortController().signal;

function successOutput(): Attempt {
  const calls = sfn.commandCalls(SendTaskSuccessCommand);
  expect(calls).toHaveLength(1);
  return Attempt.parse(JSON.parse(calls[0]?.args[0].input.output ?? 'null'));
}

function failureInput() {
  const calls = sfn.commandCalls(SendTaskFailureCommand);
  expect(calls).toHaveLength(1);
  return calls[0]?.args[0].input;
}

describe('script runner, task mode', () => {
  it('runs the job with real bash and sends the Attempt with SendTaskSuccess', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).resolves({});
    const hook = await defineShellHook(table.doc, table.tableName, {
      script: [
        'read -r input',
        'echo "job $STAGEHOOKS_JOB_ID at $STAGEHOOKS_HOOK_POINT"',
        'echo "$input" | grep -q "\\"segmentPath\\":\\"s3://bucket/job-42/seg-3.mp4\\"" || exit 3',
        'echo \'{"status":"passed","message":"graded"}\'',
      ].join('\n'),
    });

    // Act
    const exitCode = await runTaskJob(
      { taskToken: 'token-task-1', job: JSON.stringify(jobFor(hook)) },
      deps,
      notStopping(),
    );

    // Assess
    expect(exitCode).toBe(0);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.taskToken).toBe('token-task-1');
    const attempt = successOutput();
    if (!('result' in attempt)) throw new Error('expected a run attempt');
    expect(attempt.hookRevision).toBe(hook.revision);
    expect(attempt.result).toMatchObject({ status: 'passed', exitCode: 0, message: 'graded' });
    expect(attempt.result.stdout).toContain('job job-42 at post_segment');
  });

  it('reports a failing script as a successful task whose Attempt says failed', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).resolves({});
    const hook = await defineShellHook(
      table.doc,
      table.tableName,
      { script: 'echo bad >&2; exit 4' },
      'failing',
    );

    // Act
    await runTaskJob({ taskToken: 'token-task-2', job: JSON.stringify(jobFor(hook)) }, deps, notStopping());

    // Assess
    const attempt = successOutput();
    expect(attempt).toMatchObject({ result: { status: 'failed', exitCode: 4, stderr: 'bad\n' } });
  });

  it('sends SendTaskFailure ScriptRunner.Failed when the run itself throws', async () => {
    // Prepare: a webhook routed to the script runner is an engine fault, not a hook result.
    sfn.on(SendTaskFailureCommand).resolves({});
    const registry = new DynamoHookRegistry(table.doc, { tableName: table.tableName });
    const { hook } = await registry.create(
      HookCreate.parse({
        name: 'notify',
        type: 'webhook',
        hookPoint: 'post_segment',
        scopeType: 'project',
        scopeId: 'p1',
        config: { url: 'https://hooks.example.com/notify' },
      }),
      'test',
    );

    // Act
    const exitCode = await runTaskJob(
      { taskToken: 'token-task-3', job: JSON.stringify(jobFor(hook)) },
      deps,
      notStopping(),
    );

    // Assess
    expect(exitCode).toBe(0);
    expect(failureInput()).toMatchObject({ taskToken: 'token-task-3', error: 'ScriptRunner.Failed' });
    expect(failureInput()?.cause).toContain('is a webhook, not a script');
  });

  it.each([
    ['not JSON', '{"stage":', 'STAGEHOOKS_JOB is not JSON'],
    ['not HookTaskArgs', '{"index":0}', 'stage: is required'],
  ])('sends SendTaskFailure ScriptRunner.InvalidJob for a job that is %s', async (_, job, cause) => {
    // Prepare
    sfn.on(SendTaskFailureCommand).resolves({});

    // Act
    const exitCode = await runTaskJob({ taskToken: 'token-task-4', job }, deps, notStopping());

    // Assess
    expect(exitCode).toBe(0);
    expect(failureInput()).toMatchObject({ error: 'ScriptRunner.InvalidJob' });
    expect(failureInput()?.cause).toContain(cause);
  });

  it('reports the job interrupted when the container is stopped past the grace period', async () => {
    // Prepare
    sfn.on(SendTaskFailureCommand).resolves({});
    const hook = await defineShellHook(
      table.doc,
      table.tableName,
      { script: 'sleep 5', timeoutSeconds: 2 },
      'slow',
    );
    const stop = new AbortController();

    // Act
    const running = runTaskJob(
      { taskToken: 'token-task-5', job: JSON.stringify(jobFor(hook)) },
      deps,
      stop.signal,
    );
    setTimeout(() => stop.abort(), 200);
    const exitCode = await running;

    // Assess
    expect(exitCode).toBe(0);
    expect(failureInput()).toMatchObject({ taskToken: 'token-task-5', error: 'ScriptRunner.Interrupted' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('sends heartbeats from the start until the job is reported, and no more after', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskHeartbeatCommand).resolves({});
    const hook = await defineShellHook(table.doc, table.tableName, { script: 'sleep 0.6' }, 'steady');

    // Act
    const exitCode = await runTaskJob(
      { taskToken: 'token-task-7', job: JSON.stringify(jobFor(hook)) },
      deps,
      notStopping(),
      { heartbeatEveryMs: 100 },
    );
    const beatsWhenDone = sfn.commandCalls(SendTaskHeartbeatCommand).length;
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Assess
    expect(exitCode).toBe(0);
    expect(beatsWhenDone).toBeGreaterThanOrEqual(4);
    expect(sfn.commandCalls(SendTaskHeartbeatCommand)).toHaveLength(beatsWhenDone);
    expect(sfn.commandCalls(SendTaskHeartbeatCommand)[0]?.args[0].input).toEqual({
      taskToken: 'token-task-7',
    });
    expect(successOutput()).toMatchObject({ result: { status: 'passed' } });
  });

  it('does not run a job whose task no longer waits when the container starts', async () => {
    // Prepare: the task timed out while the container was being provisioned
    const closed = Object.assign(new Error('task timed out'), { name: 'TaskTimedOut' });
    sfn.on(SendTaskHeartbeatCommand).rejects(closed);
    const marker = join(tmpdir(), `stagehooks-late-${process.pid}-${Date.now()}`);
    const hook = await defineShellHook(table.doc, table.tableName, { script: `touch ${marker}` }, 'late');

    // Act
    const exitCode = await runTaskJob(
      { taskToken: 'token-task-8', job: JSON.stringify(jobFor(hook)) },
      deps,
      notStopping(),
    );

    // Assess
    expect(exitCode).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    expect(sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(0);
  });

  it('cuts a job short once its task stops waiting', async () => {
    // Prepare: the first heartbeat is taken, later ones find the task gone (stopped, timed out)
    const closed = Object.assign(new Error('no such task'), { name: 'TaskDoesNotExist' });
    sfn.on(SendTaskHeartbeatCommand).resolvesOnce({}).rejects(closed);
    sfn.on(SendTaskFailureCommand).rejects(closed);
    const hook = await defineShellHook(
      table.doc,
      table.tableName,
      { script: 'sleep 3', timeoutSeconds: 10 },
      'abandoned',
    );

    // Act
    const started = performance.now();
    const exitCode = await runTaskJob(
      { taskToken: 'token-task-9', job: JSON.stringify(jobFor(hook)) },
      deps,
      notStopping(),
      { heartbeatEveryMs: 100 },
    );

    // Assess: ended long before the script would have, reported as interrupted to the gone task
    expect(exitCode).toBe(0);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(failureInput()).toMatchObject({ taskToken: 'token-task-9', error: 'ScriptRunner.Interrupted' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('exits 1 when Step Functions cannot be told', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));
    const hook = await defineShellHook(table.doc, table.tableName, { script: 'true' }, 'quick');

    // Act
    const exitCode = await runTaskJob(
      { taskToken: 'token-task-6', job: JSON.stringify(jobFor(hook)) },
      deps,
      notStopping(),
    );

    // Assess
    expect(exitCode).toBe(1);
  });
});
