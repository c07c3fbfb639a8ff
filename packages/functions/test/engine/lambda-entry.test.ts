import { lambdaFunctions } from '@stagehooks/core/engine';
import { createTestTable } from '@test/dynamodb';
import { stageReachedEvent } from '@test/events';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { engineLambdas } from '../../src/engine';
import { lambdaContext, testCredentials } from '../fixtures';

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

describe("the engine Lambdas' entry point", () => {
  it('exports a handler for every Lambda-backed Task state, and nothing else, built once from the environment', async () => {
    // Act
    const { stage } = await import('../../src/engine/lambda-entry');

    // Assess
    expect(Object.keys(stage).sort()).toEqual(lambdaFunctions.map((fn) => fn.handlerExport).sort());
    for (const { handler, bundle } of engineLambdas) {
      expect(bundle).toBe('lambda/engine.mjs');
      const [, exported, name] = handler.split('.');
      expect(exported, handler).toBe('stage');
      expect(typeof stage[name as keyof typeof stage], handler).toBe('function');
    }
  });

  it('ValidateAndClaim claims a real stage event once in DynamoDB', async () => {
    // Prepare
    const { stage } = await import('../../src/engine/lambda-entry');
    const handler = stage.validateAndClaim;
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
