import { HookCreate } from '@stagehooks/core/domain';
import { DynamoExecutionLogStore, DynamoHookRegistry } from '@stagehooks/core/dynamodb';
import type { PlannedHook, RunHookArgs } from '@stagehooks/core/engine';
import type { HttpWebhookSender } from '@stagehooks/core/executors/webhook';
import { createTestTable } from '@test/dynamodb';
import { HttpReceiver, senderTo } from '@test/http-receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsStageTasks, createStageHandlers } from '../../src/engine';
import { lambdaContext, poolJobFor } from '../fixtures';

let table: Awaited<ReturnType<typeof createTestTable>>;
let receiver: HttpReceiver;
let sender: HttpWebhookSender;

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

/** RunWebhook's input for `hook`, the stage's only hook. */
function runWebhookArgs(hook: { id: string; name: string; revision: number }): RunHookArgs {
  const job = poolJobFor(hook);
  const planned: PlannedHook = { ...job.hook, type: 'webhook', isolation: null };
  return {
    ...job,
    hook: planned,
    run: { ...job.run, plan: { hooks: [planned], count: 1 }, current: planned },
  };
}

describe('RunWebhook Lambda', () => {
  it('sends a retry its attempt number, and logs the first attempt input', async () => {
    // Prepare: the AWS engine's stage tasks on DynamoDB Local, and a receiver overloaded once
    const registry = new DynamoHookRegistry(table.doc, { tableName: table.tableName });
    const { hook } = await registry.create(
      HookCreate.parse({
        name: 'notify',
        type: 'webhook',
        hookPoint: 'post_segment',
        scopeType: 'project',
        scopeId: 'p1',
        config: { url: receiver.url('/notify') },
      }),
      'test',
    );
    const tasks = createAwsStageTasks({
      config: { tableName: table.tableName, logRetentionDays: 30 },
      dynamodb: table.client,
      webhooks: sender,
    });
    const handlers = createStageHandlers(tasks);
    receiver.reply({ status: 503 }, { status: 200 });

    // Act
    const run = await handlers.RunWebhook(runWebhookArgs(hook), lambdaContext('RunWebhook'));

    // Assess: two deliveries, numbered; the log holds the first
    expect(run.results.map((r) => r.status)).toEqual(['passed']);
    const bodies = receiver.requests.map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => b.attempt)).toEqual([1, 2]);
    expect({ ...bodies[1], attempt: 1 }).toEqual(bodies[0]);
    const logs = new DynamoExecutionLogStore(table.doc, { tableName: table.tableName, retentionDays: 30 });
    const [log] = (await logs.listByJob('job-42')).items;
    expect(log).toMatchObject({ hookId: hook.id, status: 'passed', responseStatus: 200 });
    expect(log?.input).toEqual(bodies[0]);
  });
});
