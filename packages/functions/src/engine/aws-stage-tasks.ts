import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoEventClaims,
  DynamoExecutionLogStore,
  DynamoHookRegistry,
  DynamoReviewStore,
  documentClient,
} from '@stagehooks/core/dynamodb';
import { engineError, StageTasks } from '@stagehooks/core/engine';
import { StagehooksError } from '@stagehooks/core/errors';
import type { EventPublisher, ScriptRunner, WebhookSender } from '@stagehooks/core/ports';
import type { FunctionsConfig } from '../config';

export interface AwsStageTaskParts {
  config: Pick<FunctionsConfig, 'tableName' | 'logRetentionDays'>;
  dynamodb: DynamoDBClient;
  /** The Lambdas' publisher; the script runner publishes nothing. */
  events?: EventPublisher;
  /** The RunWebhook Lambda's sender. */
  webhooks?: WebhookSender;
  /** The script-runner container's runner. */
  scripts?: ScriptRunner;
}

/** Scripts never run in a Lambda: a routing mistake ends as a logged `error`, not a script run there. */
const scriptsRunInTheContainer: ScriptRunner = {
  run: async () => engineError(new Date(), 'script hooks run in the script-runner container, not here'),
};

const webhooksRunInLambda: WebhookSender = {
  send: async () => engineError(new Date(), 'webhook hooks run in the RunWebhook Lambda, not here'),
};

const noEventsHere: EventPublisher = {
  publish: async () => {
    throw new StagehooksError('this process has no event publisher: events are put by the engine Lambdas');
  },
};

/**
 * The stage tasks on AWS: DynamoDB stores on the one table, plus whichever executors this process has.
 * Built once per cold start (Lambda) or container start; the local stack builds the same from its parts.
 */
export function createAwsStageTasks(parts: AwsStageTaskParts): StageTasks {
  const doc = documentClient(parts.dynamodb);
  const { tableName, logRetentionDays } = parts.config;
  return new StageTasks({
    registry: new DynamoHookRegistry(doc, { tableName }),
    logs: new DynamoExecutionLogStore(doc, { tableName, retentionDays: logRetentionDays }),
    reviews: new DynamoReviewStore(doc, { tableName }),
    claims: new DynamoEventClaims(doc, { tableName }),
    events: parts.events ?? noEventsHere,
    webhooks: parts.webhooks ?? webhooksRunInLambda,
    scripts: parts.scripts ?? scriptsRunInTheContainer,
  });
}
