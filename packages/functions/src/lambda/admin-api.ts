/**
 * The admin API Lambda (API Gateway HTTP API, JWT authorizer). Built once per cold start: the
 * environment parsed and the adapters created here, then every request goes to the same handler the
 * local server calls.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { parseOrThrow } from '@stagehooks/core/domain';
import {
  DynamoEventClaims,
  DynamoExecutionLogStore,
  DynamoHookRegistry,
  DynamoReviewStore,
  documentClient,
} from '@stagehooks/core/dynamodb';
import { engineError } from '@stagehooks/core/engine';
import { HttpWebhookSender } from '@stagehooks/core/executors/webhook';
import type { ScriptRunner } from '@stagehooks/core/ports';
import { z } from 'zod';
import { createAdminApi } from '../api';
import { SecretsManagerSecretResolver, StepFunctionsExecutions, StepFunctionsTaskReporter } from '../aws';
import { loadFunctionsConfig } from '../config';
import { jsonLogger } from '../log';

const AdminApiEnv = z.object({
  STAGEHOOKS_STATE_MACHINE_ARN: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]+$/,
      'must be a state machine ARN',
    ),
  STAGEHOOKS_GROUPS_CLAIM: z.string().min(1).default('cognito:groups'),
  STAGEHOOKS_API_URL: z.string().default('/'),
});

const config = loadFunctionsConfig();
const api = parseOrThrow(AdminApiEnv, process.env, 'environment');
const region = config.region;
const doc = documentClient(new DynamoDBClient({ region }));
const tableName = config.tableName;
const sfn = new SFNClient({ region });
const log = jsonLogger('stagehooks-admin-api');

/** Script test runs belong with the script runner (no python in the Lambda runtime): say so instead. */
const scripts: ScriptRunner = {
  run: async () =>
    engineError(new Date(), 'test runs of script hooks are not available in this deployment yet'),
};

export const handler = createAdminApi(
  {
    registry: new DynamoHookRegistry(doc, { tableName }),
    logs: new DynamoExecutionLogStore(doc, { tableName, retentionDays: config.logRetentionDays }),
    reviews: new DynamoReviewStore(doc, { tableName }),
    claims: new DynamoEventClaims(doc, { tableName }),
    executions: new StepFunctionsExecutions(sfn),
    tasks: new StepFunctionsTaskReporter(sfn),
    webhooks: new HttpWebhookSender({
      secrets: new SecretsManagerSecretResolver(new SecretsManagerClient({ region })),
      allow: config.webhookAllow,
    }),
    scripts,
    stateMachineArn: api.STAGEHOOKS_STATE_MACHINE_ARN,
    // Scripts never run here; the Fargate runner keeps them from its own rights (runAs).
    scriptsSandboxed: true,
  },
  {
    groupsClaim: api.STAGEHOOKS_GROUPS_CLAIM,
    serverUrl: api.STAGEHOOKS_API_URL,
    logError: (error) =>
      log.error('admin api request failed', {
        error:
          error instanceof Error
            ? { name: error.name, message: error.message, stack: error.stack }
            : String(error),
      }),
  },
);
