/**
 * Everything the engine Lambdas share, built once per cold start at module scope: the environment,
 * the SDK clients, the adapters, the stage tasks and their handlers. Each entry point picks its handler.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { HttpWebhookSender } from '@stagehooks/core/executors/webhook';
import { EventBridgeEventPublisher, SecretsManagerSecretResolver, StepFunctionsTaskReporter } from '../aws';
import { createAwsStageTasks, createLambdaHandlers } from '../aws-engine';
import { loadFunctionsConfig } from '../config';
import { jsonLogger } from '../log';
import { createStageHandlers } from '../stage';

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

export const lambdaHandlers = createLambdaHandlers(createStageHandlers(tasks), {
  reporter: new StepFunctionsTaskReporter(new SFNClient({ region })),
  log: jsonLogger('stagehooks-engine'),
});
