/**
 * The engine Lambdas' entry point, bundled to dist/lambda/engine.mjs: every Lambda-backed Task state's
 * function runs this one bundle, its handler `engine.stage.<handlerExport>` (see `engineLambdas`).
 * Built once per cold start at module scope: the environment, the SDK clients, the adapters, the stage
 * tasks and their handlers.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { HttpWebhookSender } from '@stagehooks/core/executors/webhook';
import { EventBridgeEventPublisher, SecretsManagerSecretResolver, StepFunctionsTaskReporter } from '../aws';
import { loadFunctionsConfig } from '../config';
import { jsonLogger } from '../log';
import { createAwsStageTasks } from './aws-stage-tasks';
import { createLambdaHandlers } from './lambda-handlers';

const config = loadFunctionsConfig();
const region = config.region;

const tasks = createAwsStageTasks({
  config,
  dynamodb: new DynamoDBClient({ region }),
  events: new EventBridgeEventPublisher(new EventBridgeClient({ region }), {
    eventBusName: config.eventBusName,
  }),
  webhooks: new HttpWebhookSender({
    secrets: new SecretsManagerSecretResolver(new SecretsManagerClient({ region })),
    allow: config.webhookAllow,
  }),
});

export const stage = createLambdaHandlers(tasks, {
  reporter: new StepFunctionsTaskReporter(new SFNClient({ region })),
  log: jsonLogger('stagehooks-engine'),
});
