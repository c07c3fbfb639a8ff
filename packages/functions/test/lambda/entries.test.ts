import { readdir } from 'node:fs/promises';
import { definitionPlaceholders, stageStateMachineDefinition } from '@stagehooks/core/engine';
import { createTestTable } from '@test/dynamodb';
import { stageReachedEvent } from '@test/events';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { lambdaEntries } from '../../src/lambda';
import { lambdaContext, testCredentials } from '../fixtures';

const lambdaDir = new URL('../../src/lambda/', import.meta.url);

let table: Awaited<ReturnType<typeof createTestTable>>;

beforeAll(async () => {
  table = await createTestTable();
  // The entry points read the real Lambda environment at import; the SDK takes the endpoint from it too.
  vi.stubEnv('STAGEHOOKS_TABLE', table.tableName);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', testCredentials.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', testCredentials.secretAccessKey);
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', inject('dynamoEndpoint'));
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await table?.drop();
});

describe('Lambda entry points', () => {
  it('cover every Lambda-backed Task state of the definition, one file each', async () => {
    // Prepare
    const states = stageStateMachineDefinition().States as Record<
      string,
      { Resource?: string; Parameters?: unknown }
    >;
    // admin-api.ts is the admin API's Lambda, not a state's.
    const files = (await readdir(lambdaDir)).filter(
      (f) => !['deps.ts', 'index.ts', 'admin-api.ts'].includes(f),
    );

    // Assess
    const functionPlaceholders = definitionPlaceholders.filter((p) => p.endsWith('FunctionArn'));
    expect(lambdaEntries.map((e) => e.placeholder).sort()).toEqual([...functionPlaceholders].sort());
    expect(lambdaEntries.map((e) => `${e.entry}.ts`).sort()).toEqual(files.sort());
    for (const { state, placeholder } of lambdaEntries) {
      // A direct Lambda Task (Resource) or lambda:invoke.waitForTaskToken (Parameters.FunctionName).
      expect(JSON.stringify(states[state])).toContain(`\${${placeholder}}`);
    }
  });

  it('each exports a handler, built once from the environment', async () => {
    // Act
    const handlers = await Promise.all(
      lambdaEntries.map(
        async ({ entry }) => (await import(`../../src/lambda/${entry}.ts`)).handler as unknown,
      ),
    );

    // Assess
    for (const handler of handlers) expect(typeof handler).toBe('function');
  });

  it('ValidateAndClaim claims a real stage event once in DynamoDB', async () => {
    // Prepare
    const { handler } = await import('../../src/lambda/validate-and-claim');
    const event = stageReachedEvent();
    const args = {
      event,
      executionId: 'arn:aws:states:us-east-1:123456789012:execution:stagehooks-stage:e1',
    };

    // Act
    const first = await handler(args, lambdaContext('ValidateAndClaim'));
    const second = await handler(
      { ...args, executionId: `${args.executionId}-again` },
      lambdaContext('ValidateAndClaim'),
    );

    // Assess
    expect(first.claim).toEqual({ outcome: 'claimed' });
    expect(first.stage).toMatchObject({
      jobId: 'job-42',
      hookPoint: 'post_segment',
      sceneTypeId: 'st-dance',
    });
    expect(second.claim).toEqual({ outcome: 'duplicate' });
  });
});
