import {
  InternalServerError,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { DynamoExecutionLogStore, DynamoHookRegistry, documentClient, keys } from '@stagehooks/core/dynamodb';
import { StoreError, StoreUnavailableError } from '@stagehooks/core/errors';
import { createTestTable, localDynamoClient } from '@test/dynamodb';
import { hookCreate, hookReplace } from '@test/hooks';
import { logDraft } from '@test/logs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const $metadata = {};
const throttled = () => new ProvisionedThroughputExceededException({ message: 'slow down', $metadata });

describe('faults DynamoDB Local cannot produce (mocked client)', () => {
  // The instance, not the class: other files' clients stay real.
  const doc = DynamoDBDocumentClient.from(localDynamoClient('http://127.0.0.1:9'));
  const dynamo = mockClient(doc);
  const registry = new DynamoHookRegistry(doc, { tableName: 'stagehooks' });
  const logs = new DynamoExecutionLogStore(doc, { tableName: 'stagehooks' });
  afterEach(() => dynamo.reset());
  afterAll(() => dynamo.restore());

  it('turns throttling on create into StoreUnavailableError, having sent one all-or-nothing transaction', async () => {
    // Prepare
    dynamo.on(TransactWriteCommand).rejects(throttled());

    // Act
    const create = registry.create(
      hookCreate({ type: 'webhook', config: { url: 'https://hooks.example.com/x' } }),
      'alice',
    );

    // Assess
    await expect(create).rejects.toThrow(StoreUnavailableError);
    await expect(create).rejects.toMatchObject({
      statusCode: 503,
      cause: { name: 'ProvisionedThroughputExceededException' },
    });
    const transactions = dynamo.commandCalls(TransactWriteCommand);
    expect(transactions).toHaveLength(1);
    const written = transactions[0]?.args[0].input.TransactItems?.map(
      (item) => item.Put?.Item?.entity ?? item.Update?.ExpressionAttributeValues?.[':entity'],
    );
    expect(written).toEqual(['hook', 'hookRef', 'hookAudit', 'hookSecret', 'hookStamp']);
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('treats a transaction cancelled for throttling as unavailable, not as a conflict', async () => {
    dynamo.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata,
        CancellationReasons: [{ Code: 'ThrottlingError' }, { Code: 'None' }, { Code: 'None' }],
      }),
    );
    await expect(registry.create(hookCreate(), 'alice')).rejects.toThrow(StoreUnavailableError);
  });

  it('keeps the registry change whole when the service fails during a replace', async () => {
    // Prepare: the current hook reads fine, the write fails
    const current = {
      ...hookCreate(),
      id: '01HOOK',
      revision: 4,
      createdBy: 'alice',
      createdAt: '2026-11-20T12:00:00.000Z',
      updatedAt: '2026-11-20T12:00:00.000Z',
    };
    dynamo
      .on(GetCommand, { Key: { pk: keys.hookRef.pk('01HOOK'), sk: keys.hookRef.sk } })
      .resolves({
        Item: { scopeType: 'studio', scopeId: null, hookPoint: current.hookPoint, name: current.name },
      })
      .on(GetCommand, { Key: { pk: 'SCOPE#studio', sk: keys.hook.sk(current.hookPoint, current.name) } })
      .resolves({ Item: current });
    dynamo.on(TransactWriteCommand).rejects(new InternalServerError({ message: 'boom', $metadata }));

    // Act
    const replace = registry.replace('01HOOK', hookReplace(current, { sortOrder: 1 }), 'bob');

    // Assess
    await expect(replace).rejects.toThrow(StoreUnavailableError);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
    // The hook, its audit entry and the generation of its scope and point, all or nothing.
    expect(dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems).toHaveLength(3);
  });

  it('surfaces throttled reads and log writes as StoreUnavailableError', async () => {
    dynamo.on(QueryCommand).rejects(throttled());
    dynamo.on(PutCommand).rejects(throttled());
    await expect(registry.hooksAt({ scopeType: 'studio', scopeId: null }, 'post_segment')).rejects.toThrow(
      StoreUnavailableError,
    );
    await expect(registry.list({})).rejects.toThrow(StoreUnavailableError);
    await expect(logs.listByJob('job-1')).rejects.toThrow(StoreUnavailableError);
    await expect(logs.append(logDraft())).rejects.toThrow(StoreUnavailableError);
  });

  it('wraps an unexpected service error instead of leaking the SDK type', async () => {
    const unexpected = Object.assign(new Error('One or more parameter values were invalid'), {
      name: 'ValidationException',
    });
    dynamo.on(GetCommand).rejects(unexpected);
    const get = registry.get('01HOOK');
    await expect(get).rejects.toThrow(StoreError);
    await expect(get).rejects.toMatchObject({ name: 'StoreError', statusCode: 500, cause: unexpected });
  });
});

describe('a failed write on the real DynamoDB Local leaves nothing behind', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  beforeAll(async () => {
    table = await createTestTable();
  });
  afterAll(() => table.drop());

  it('writes no hook, ref or audit entry when the transaction never lands', async () => {
    // Prepare: a client whose transactions fail in flight, as a dropped connection would
    const faulty = localDynamoClient();
    faulty.middlewareStack.add(
      (next, context) => (args) => {
        if (String(context.commandName).startsWith('TransactWrite'))
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        return next(args);
      },
      { step: 'initialize' },
    );
    const broken = new DynamoHookRegistry(documentClient(faulty), { tableName: table.tableName });
    const healthy = new DynamoHookRegistry(table.doc, { tableName: table.tableName });

    // Act
    await expect(broken.create(hookCreate({ name: 'ghost' }), 'alice')).rejects.toThrow(
      StoreUnavailableError,
    );

    // Assess
    expect((await healthy.list({})).items).toEqual([]);
    const { Items } = await table.doc.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': 'HOOKS' },
      }),
    );
    expect(Items).toEqual([]);
  });
});
