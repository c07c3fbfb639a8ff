import { readdir, readFile } from 'node:fs/promises';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '@stagehooks/core/dynamodb';
import { HttpReceiver } from '@test/http-receiver';
import { startTestStack, type TestStack } from '@test/stack';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let t: TestStack;
let receiver: HttpReceiver;

beforeAll(async () => {
  receiver = await HttpReceiver.start();
  t = await startTestStack({ STAGEHOOKS_WEBHOOK_ALLOW: `127.0.0.1:${receiver.port}` });
}, 120_000);
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

async function processesRunning(cmdline: string): Promise<string[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const found: string[] = [];
  for (const pid of pids) {
    const text = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (text.includes(cmdline)) found.push(pid);
  }
  return found;
}

const logsOf = async (jobId: string) => (await t.stack.logs.listByJob(jobId)).items;

describe('a stage event through the local stack', () => {
  it('runs the hooks, logs them, emits the verdict and leaves a readable history', async () => {
    // Prepare
    const { hook, signingSecret } = await t.define({
      name: 'notify',
      type: 'webhook',
      hookPoint: 'post_segment',
      scopeType: 'project',
      scopeId: 'p-flow',
      config: { url: receiver.url('/notify') },
    });
    await t.define({
      name: 'check',
      type: 'shell',
      hookPoint: 'post_segment',
      scopeType: 'project',
      scopeId: 'p-flow',
      sortOrder: 200,
      config: { script: 'read -r input; printf "seen %d bytes\\n" "$(printf %s "$input" | wc -c)"' },
    });

    // Act
    await t.emit({
      hookPoint: 'post_segment',
      jobId: 'job-flow',
      projectId: 'p-flow',
      segmentPath: 's3://b/job-flow/seg-1.mp4',
    });
    const verdict = await t.receiver.verdict('job-flow', 'post_segment');

    // Assess: the verdict
    expect(verdict.source).toBe('stagehooks');
    expect(verdict.detail).toMatchObject({ verdict: 'passed', review: null });
    const results = verdict.detail.results as Array<{ name: string; status: string; logId: string }>;
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['notify', 'passed'],
      ['check', 'passed'],
    ]);
    // the logs, in DynamoDB
    const logs = await logsOf('job-flow');
    expect(logs.map((l) => [l.hookName, l.status, l.outcome])).toEqual([
      ['notify', 'passed', 'continued'],
      ['check', 'passed', 'continued'],
    ]);
    expect(logs[1]?.stdout).toMatch(/^seen \d+ bytes/);
    expect(logs[0]).toMatchObject({
      hookType: 'webhook',
      responseStatus: 200,
      executionId: verdict.detail.executionId,
    });
    expect(results.map((r) => r.logId)).toEqual(logs.map((l) => l.id));
    // the webhook request was signed, verifiable with the standard library
    const request = receiver.requests.find((r) => r.url === '/notify');
    expect(() =>
      new Webhook(signingSecret as string).verify(
        request?.body ?? '',
        request?.headers as Record<string, string>,
      ),
    ).not.toThrow();
    expect(JSON.parse(request?.body ?? '{}')).toMatchObject({
      jobId: 'job-flow',
      hook: { id: hook.id, name: 'notify', revision: 1 },
      test: false,
    });
    // the history, through the real SFN client
    const history = await t.sfn.send(
      new GetExecutionHistoryCommand({ executionArn: verdict.detail.executionId as string }),
    );
    const entered = history.events
      ?.filter((e) => e.stateEnteredEventDetails)
      .map((e) => e.stateEnteredEventDetails?.name);
    // A webhook and a pooled script: one Task and one Choice each
    expect(entered).toEqual([
      'ValidateAndClaim',
      'Claimed?',
      'ResolveEffectiveHooks',
      'NextHook?',
      'RunWebhook',
      'NextHook?',
      'RunScriptInPool',
      'NextHook?',
      'EmitVerdict',
      // No detached hook to run after the verdict
      'AnyDetached?',
      'StageComplete',
    ]);
    expect(history.events?.at(-1)?.type).toBe('ExecutionSucceeded');
    const described = await t.sfn.send(
      new DescribeExecutionCommand({ executionArn: verdict.detail.executionId as string }),
    );
    expect(described.status).toBe('SUCCEEDED');
    expect(described.name).toMatch(/^job-flow-post_segment-[0-9a-f]{12}$/);
  });

  it('applies inheritance at all three levels', async () => {
    // Prepare: studio webhook, overridden by the project, plus a scene-type script and a studio hook the scene type switches off
    await t.define({
      name: 'grade',
      type: 'webhook',
      hookPoint: 'pre_concatenation',
      scopeType: 'studio',
      config: { url: receiver.url('/studio-grade') },
    });
    await t.define({
      name: 'grade',
      type: 'webhook',
      hookPoint: 'pre_concatenation',
      scopeType: 'project',
      scopeId: 'p-inherit',
      config: { url: receiver.url('/project-grade') },
    });
    await t.define({
      name: 'archive',
      type: 'shell',
      hookPoint: 'pre_concatenation',
      scopeType: 'studio',
      config: { script: 'echo archived' },
    });
    await t.define({
      name: 'archive',
      type: 'shell',
      hookPoint: 'pre_concatenation',
      scopeType: 'scene_type',
      scopeId: 'st-quiet',
      enabled: false,
      config: { script: 'true' },
    });
    await t.define({
      name: 'dance_check',
      type: 'python',
      hookPoint: 'pre_concatenation',
      scopeType: 'scene_type',
      scopeId: 'st-quiet',
      config: {
        script:
          'import json,sys; d=json.load(sys.stdin); print(json.dumps({"status":"passed","message":d["sceneTypeId"]}))',
      },
    });

    // Act
    await t.emit({
      hookPoint: 'pre_concatenation',
      jobId: 'job-inherit',
      projectId: 'p-inherit',
      sceneTypeId: 'st-quiet',
    });
    const verdict = await t.receiver.verdict('job-inherit', 'pre_concatenation');

    // Assess
    expect((verdict.detail.results as Array<{ name: string }>).map((r) => r.name).sort()).toEqual([
      'dance_check',
      'grade',
    ]);
    expect(receiver.requests.some((r) => r.url === '/project-grade')).toBe(true);
    expect(receiver.requests.some((r) => r.url === '/studio-grade')).toBe(false);
    const logs = await logsOf('job-inherit');
    expect(logs.find((l) => l.hookName === 'dance_check')?.stdout).toContain('"message": "st-quiet"');
  });
});

describe('failure modes', () => {
  it('warn: the stage continues and the verdict is warned', async () => {
    await t.define({
      name: 'loudness',
      type: 'shell',
      hookPoint: 'post_variant',
      scopeType: 'project',
      scopeId: 'p-warn',
      failureMode: 'warn',
      config: { script: 'echo too loud >&2; exit 3' },
    });
    await t.define({
      name: 'after',
      type: 'shell',
      hookPoint: 'post_variant',
      scopeType: 'project',
      scopeId: 'p-warn',
      sortOrder: 200,
      config: { script: 'true' },
    });
    await t.emit({ hookPoint: 'post_variant', jobId: 'job-warn', projectId: 'p-warn' });
    const verdict = await t.receiver.verdict('job-warn', 'post_variant');
    expect(verdict.detail.verdict).toBe('warned');
    const logs = await logsOf('job-warn');
    expect(logs.map((l) => [l.hookName, l.status, l.outcome, l.exitCode])).toEqual([
      ['loudness', 'failed', 'warned', 3],
      ['after', 'passed', 'continued', 0],
    ]);
    expect(logs[0]?.stderr).toBe('too loud\n');
  });

  it('ignore: the failure is logged and the verdict stays passed', async () => {
    await t.define({
      name: 'optional',
      type: 'shell',
      hookPoint: 'post_variant',
      scopeType: 'project',
      scopeId: 'p-ignore',
      failureMode: 'ignore',
      config: { script: 'exit 1' },
    });
    await t.emit({ hookPoint: 'post_variant', jobId: 'job-ignore', projectId: 'p-ignore' });
    const verdict = await t.receiver.verdict('job-ignore', 'post_variant');
    expect(verdict.detail.verdict).toBe('passed');
    expect((await logsOf('job-ignore')).map((l) => [l.status, l.outcome])).toEqual([['failed', 'ignored']]);
  });
});

describe('events', () => {
  it('runs hooks once for an event id delivered twice', async () => {
    // Prepare: one event, delivered to the state machine twice (as an at-least-once redelivery would)
    await t.define({
      name: 'once',
      type: 'shell',
      hookPoint: 'post_delivery',
      scopeType: 'project',
      scopeId: 'p-dup',
      config: { script: 'true' },
    });
    const event = {
      version: '0',
      id: '7f0c2d1e-0000-4000-8000-000000000001',
      'detail-type': 'Stage Reached',
      source: 'studio.pipeline',
      account: '000000000000',
      time: '2026-11-20T12:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: { hookPoint: 'post_delivery', jobId: 'job-dup', projectId: 'p-dup' },
    };

    // Act
    const first = await t.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: t.stack.stateMachineArn,
        name: 'dup-1',
        input: JSON.stringify(event),
      }),
    );
    const second = await t.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: t.stack.stateMachineArn,
        name: 'dup-2',
        input: JSON.stringify(event),
      }),
    );
    await t.stack.sfn.whenDone(first.executionArn as string);
    await t.stack.sfn.whenDone(second.executionArn as string);

    // Assess
    expect(await logsOf('job-dup')).toHaveLength(1);
    // Both started at once: whichever claimed the id first ran the hooks, the other stopped at AlreadyHandled.
    const handled = [];
    for (const { executionArn } of [first, second]) {
      const history = await t.sfn.send(new GetExecutionHistoryCommand({ executionArn }));
      handled.push(history.events?.some((e) => e.stateEnteredEventDetails?.name === 'AlreadyHandled'));
    }
    expect(handled.sort()).toEqual([false, true]);
    // Forwarding is asynchronous: wait for the one verdict, then make sure no second one follows.
    await t.receiver.verdict('job-dup', 'post_delivery');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(
      t.receiver.events.filter(
        (e) => e.detail.jobId === 'job-dup' && e['detail-type'] === 'Stage Hooks Completed',
      ),
    ).toHaveLength(1);
  });

  it('records a malformed event as rejected, with its reasons, and runs no hook', async () => {
    // Act
    const eventId = await t.emit({
      hookPoint: 'post_render',
      jobId: 'job-bad',
      projectId: 'p-flow',
      colour: 'red',
    });
    const executions = await t.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: t.stack.stateMachineArn }),
    );
    const execution = executions.executions?.find((e) =>
      e.name?.includes(eventId.replace(/-/g, '').slice(0, 12)),
    );
    await t.stack.sfn.whenDone(execution?.executionArn as string);

    // Assess
    const described = await t.sfn.send(
      new DescribeExecutionCommand({ executionArn: execution?.executionArn }),
    );
    expect(described).toMatchObject({ status: 'FAILED', error: 'StageEvent.Invalid' });
    const doc = documentClient(t.stack.dynamoClient);
    const { Item } = await doc.send(
      new GetCommand({
        TableName: t.stack.config.tableName,
        Key: { pk: `EVENT#${eventId}`, sk: 'REJECTED' },
      }),
    );
    expect(Item?.reasons).toEqual(
      expect.arrayContaining([
        { path: 'detail.hookPoint', message: expect.stringContaining('post_variant') },
        { path: 'detail.colour', message: 'is not a known field' },
      ]),
    );
    expect(await logsOf('job-bad')).toEqual([]);
  });
});

describe('a PutEvents batch', () => {
  it('runs the stage of its good entry once and refuses the entry nested too deep', async () => {
    // Prepare
    const nested = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
    await t.define({
      name: 'counted',
      type: 'shell',
      hookPoint: 'post_segment',
      scopeType: 'project',
      scopeId: 'p-batch',
      config: { script: 'true' },
    });
    const entry = (detail: string) => ({
      Source: 'studio.pipeline',
      DetailType: 'Stage Reached',
      EventBusName: 'stagehooks',
      Detail: detail,
    });

    // Act
    const put = await t.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          entry(JSON.stringify({ hookPoint: 'post_segment', jobId: 'job-batch', projectId: 'p-batch' })),
          entry(
            `{"hookPoint":"post_segment","jobId":"job-batch-deep","projectId":"p-batch","metadata":${nested(10_000)}}`,
          ),
        ],
      }),
    );
    const verdict = await t.receiver.verdict('job-batch', 'post_segment');

    // Assess
    expect(put.FailedEntryCount).toBe(1);
    expect(put.Entries?.[1]).toEqual({
      ErrorCode: 'MalformedDetail',
      ErrorMessage: 'Detail is malformed: detail.metadata nests more than 1100 levels deep.',
    });
    expect(verdict.detail).toMatchObject({ verdict: 'passed', results: [{ name: 'counted' }] });
    expect(await logsOf('job-batch')).toHaveLength(1);
    const { executions = [] } = await t.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: t.stack.stateMachineArn, maxResults: 1000 }),
    );
    expect(executions.filter((e) => e.name?.startsWith('job-batch-')).map((e) => e.name)).toEqual([
      expect.stringMatching(/^job-batch-post_segment-/),
    ]);
  });
});

describe('what every execution logs', () => {
  it('logs an SSRF refusal without sending the request', async () => {
    const before = receiver.requests.length;
    await t.define({
      name: 'sneaky',
      type: 'webhook',
      hookPoint: 'post_delivery',
      scopeType: 'project',
      scopeId: 'p-ssrf',
      config: { url: 'http://127.0.0.1:9/metadata' },
    });
    await t.emit({ hookPoint: 'post_delivery', jobId: 'job-ssrf', projectId: 'p-ssrf' });
    const verdict = await t.receiver.verdict('job-ssrf', 'post_delivery');
    expect(verdict.detail.verdict).toBe('warned');
    const [log] = await logsOf('job-ssrf');
    expect(log).toMatchObject({ status: 'error', outcome: 'warned', responseStatus: null });
    expect(log?.errorMessage).toMatch(/refused.*127\.0\.0\.1.*non-public/);
    expect(receiver.requests.length).toBe(before);
  });

  it('sends a retried webhook its attempt number, and logs the first attempt input', async () => {
    // Prepare: the receiver is overloaded once
    const before = receiver.requests.length;
    await t.define({
      name: 'flaky',
      type: 'webhook',
      hookPoint: 'post_delivery',
      scopeType: 'project',
      scopeId: 'p-retry',
      config: { url: receiver.url('/flaky') },
    });
    receiver.reply({ status: 503 }, { status: 200 });

    // Act
    await t.emit({ hookPoint: 'post_delivery', jobId: 'job-retry', projectId: 'p-retry' });
    const verdict = await t.receiver.verdict('job-retry', 'post_delivery');

    // Assess: two deliveries of one input, numbered
    expect(verdict.detail.verdict).toBe('passed');
    const bodies = receiver.requests.slice(before).map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => [b.jobId, b.attempt])).toEqual([
      ['job-retry', 1],
      ['job-retry', 2],
    ]);
    expect({ ...bodies[1], attempt: 1 }).toEqual(bodies[0]);
    const [log] = await logsOf('job-retry');
    expect(log).toMatchObject({ status: 'passed', responseStatus: 200 });
    expect(log?.input).toEqual(bodies[0]);
  });

  it('kills a timed-out script with its children, and logs it', async () => {
    // Prepare: a script that backgrounds a child and waits past its 1 s budget
    await t.define({
      name: 'hangs',
      type: 'shell',
      hookPoint: 'post_delivery',
      scopeType: 'project',
      scopeId: 'p-timeout',
      config: { script: 'sleep 61.7 & echo started; wait', timeoutSeconds: 1 },
    });

    // Act
    await t.emit({ hookPoint: 'post_delivery', jobId: 'job-timeout', projectId: 'p-timeout' });
    await t.receiver.verdict('job-timeout', 'post_delivery');

    // Assess: logged as timed out, and no `sleep 61.7` left anywhere on the machine
    const [log] = await logsOf('job-timeout');
    expect(log).toMatchObject({ status: 'timed_out', outcome: 'warned', stdout: 'started\n' });
    expect(await processesRunning('sleep\u000061.7')).toEqual([]);
  });

  it('truncates 1 MiB of stdout to 64 KiB and says so', async () => {
    await t.define({
      name: 'chatty',
      type: 'python',
      hookPoint: 'post_delivery',
      scopeType: 'project',
      scopeId: 'p-chatty',
      config: { script: 'import sys\nsys.stdout.write("x" * (1024 * 1024))' },
    });
    await t.emit({ hookPoint: 'post_delivery', jobId: 'job-chatty', projectId: 'p-chatty' });
    await t.receiver.verdict('job-chatty', 'post_delivery');
    const [log] = await logsOf('job-chatty');
    expect(log).toMatchObject({ status: 'passed', truncated: true });
    expect(Buffer.byteLength(log?.stdout ?? '')).toBe(64 * 1024);
  });
});
