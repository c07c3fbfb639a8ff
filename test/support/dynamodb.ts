import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClient, ensureTable } from '@stagehooks/core/dynamodb';
import { inject } from 'vitest';

/** Clients for the run's DynamoDB Local, with the dummy credentials it accepts. */
export function localDynamoClient(endpoint = inject('dynamoEndpoint')) {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** A fresh table for one test file; `drop` removes it. */
export async function createTestTable() {
  const client = localDynamoClient();
  const tableName = `test-${randomUUID()}`;
  await ensureTable(client, tableName);
  return {
    tableName,
    client,
    doc: documentClient(client),
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}
