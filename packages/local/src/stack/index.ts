import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '@stagehooks/core/dynamodb';
import type { LocalConfig } from '../config';
import { type DynamoDbLocal, startDynamoDbLocal } from '../dynamodb-local';

export interface LocalStack {
  config: LocalConfig;
  dynamo: DynamoDbLocal;
  dynamoClient: DynamoDBClient;
  table: 'created' | 'existing';
  stop(): Promise<void>;
}

/** Dummy credentials: DynamoDB Local runs with -sharedDb, so any region and key see the same tables. */
export function localDynamoClient(endpoint: string) {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'stagehooks', secretAccessKey: 'stagehooks' },
  });
}

/** Starts the embedded stack's components on this machine; `stop` takes them down in reverse order. */
export async function startLocalStack(config: LocalConfig): Promise<LocalStack> {
  const dynamo = await startDynamoDbLocal({ port: config.ports.dynamodb, dataDir: config.dataDir.dynamodb });
  const dynamoClient = localDynamoClient(dynamo.endpoint);
  try {
    const table = await ensureTable(dynamoClient, config.tableName);
    return {
      config,
      dynamo,
      dynamoClient,
      table,
      stop: async () => {
        dynamoClient.destroy();
        await dynamo.stop();
      },
    };
  } catch (error) {
    dynamoClient.destroy();
    await dynamo.stop();
    throw error;
  }
}
