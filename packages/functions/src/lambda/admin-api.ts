/**
 * The admin API Lambda (API Gateway HTTP API, JWT authorizer). Built once per cold start: the
 * environment parsed and the adapters created here, then every request goes to the same handler the
 * local server calls. Script hooks' test runs go to the pool runner's queue (no python, no sandbox
 * here): the runner logs them, and the API answers with the log, or 202 when the run outlasts its wait.
 */

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadCatalog } from '@stagehooks/core/catalog';
import { parseOrThrow } from '@stagehooks/core/domain';
import {
  DynamoEventClaims,
  DynamoExecutionLogStore,
  DynamoHookRegistry,
  DynamoReviewStore,
  documentClient,
} from '@stagehooks/core/dynamodb';
import { ValidationError } from '@stagehooks/core/errors';
import { HttpWebhookSender } from '@stagehooks/core/executors/webhook';
import { z } from 'zod';
import { createAdminApi } from '../api';
import {
  SecretsManagerSecretResolver,
  SqsScriptTestQueue,
  StepFunctionsExecutions,
  StepFunctionsTaskReporter,
} from '../aws';
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
  /** The hook catalog; build.mjs copies it beside the bundle. */
  STAGEHOOKS_CATALOG_DIR: z.string().min(1).optional(),
});

const config = loadFunctionsConfig();
const api = parseOrThrow(AdminApiEnv, process.env, 'environment');
const region = config.region;
const doc = documentClient(new DynamoDBClient({ region }));
const tableName = config.tableName;
const sfn = new SFNClient({ region });
const log = jsonLogger('stagehooks-admin-api');
if (config.scriptQueueUrl === null) {
  throw new ValidationError('environment', [
    {
      path: 'STAGEHOOKS_SCRIPT_QUEUE_URL',
      message: 'is required: script hooks are test-run by the pool runner',
    },
  ]);
}

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
    scriptTests: new SqsScriptTestQueue(new SQSClient({ region }), config.scriptQueueUrl),
    stateMachineArn: api.STAGEHOOKS_STATE_MACHINE_ARN,
    // Scripts never run here; the Fargate runner keeps them from its own rights (runAs).
    scriptsSandboxed: true,
    // Loaded once per cold start; a broken entry fails the start, naming it.
    catalog: await loadCatalog(
      api.STAGEHOOKS_CATALOG_DIR ?? join(dirname(fileURLToPath(import.meta.url)), 'catalog'),
    ),
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
