import { chmod, mkdir, stat } from 'node:fs/promises';
import type { Agent, Server } from 'node:http';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { loadCatalog } from '@stagehooks/core/catalog';
import { type EventBridgeEvent, stagehooksBusName, stagehooksEventSource } from '@stagehooks/core/domain';
import {
  DynamoEventClaims,
  DynamoExecutionLogStore,
  DynamoHookRegistry,
  DynamoReviewStore,
  documentClient,
  ensureTable,
} from '@stagehooks/core/dynamodb';
import {
  type DefinitionPlaceholder,
  definitionPlaceholders,
  ScriptTests,
  StageTasks,
  stageStateMachineDefinition,
  substitutePlaceholders,
} from '@stagehooks/core/engine';
import { stageReachedPattern } from '@stagehooks/core/events';
import {
  type ActiveScriptSandbox,
  DirectoryScriptStore,
  inProcessLauncher,
  type ProcessLauncher,
  ProcessScriptRunner,
  resolveScriptSandbox,
} from '@stagehooks/core/executors/script';
import { HttpWebhookSender } from '@stagehooks/core/executors/webhook';
import type { EventPublisher, ExecutionLogStore } from '@stagehooks/core/ports';
import { createAdminApi } from '@stagehooks/functions/api';
import { StepFunctionsExecutions, StepFunctionsTaskReporter } from '@stagehooks/functions/aws';
import { createStageHandlers } from '@stagehooks/functions/engine';
import { API_PREFIX, createApiServer, LocalTokens } from '../api-server';
import { type AwsKeyPair, createAwsEndpoint, listen, loadAwsCredentials } from '../aws-endpoint';
import type { LocalConfig } from '../config';
import { type DynamoDbLocal, startDynamoDbLocal } from '../dynamodb-local';
import { localTaskHandlers } from '../engine';
import { LocalEventBus } from '../event-bus';
import { ScriptLauncher } from '../script-launcher';
import { LocalSecretResolver } from '../secrets';
import type { ExecutionRecord } from '../step-functions/execution-store';
import { LOCAL_ACCOUNT, LOCAL_REGION, LocalStepFunctions } from '../step-functions/local-step-functions';
import { concludeInterrupted } from './interrupted-stage';
import { LocalScriptTestQueue } from './script-tests';
import { localScriptUsers } from './script-users';

export const STATE_MACHINE_NAME = 'stagehooks-stage';

export interface LocalStack {
  config: LocalConfig;
  dynamo: DynamoDbLocal;
  dynamoClient: DynamoDBClient;
  table: 'created' | 'existing';
  endpoints: { api: string; aws: string; dynamodb: string };
  adminToken: string;
  /** Where the generated admin token is kept; undefined when STAGEHOOKS_ADMIN_TOKEN sets it. */
  adminTokenFile: string | undefined;
  /** The key pair the AWS-compatible endpoint accepts (SigV4). */
  awsCredentials: AwsKeyPair;
  /** Where the generated pair is kept (profile `stagehooks`); undefined when STAGEHOOKS_AWS_* set it. */
  awsCredentialsFile: string | undefined;
  registry: DynamoHookRegistry;
  logs: DynamoExecutionLogStore;
  reviews: DynamoReviewStore;
  sfn: LocalStepFunctions;
  bus: LocalEventBus;
  stateMachineArn: string;
  sandbox: ActiveScriptSandbox;
  /** What starts script processes: the launcher process, or this process when it could not start. */
  scriptLauncher: ProcessLauncher;
  /** Executions found running at start (the stack had stopped mid-stage) and ended. */
  interrupted: ExecutionRecord[];
  stop(): Promise<void>;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * Dummy credentials: DynamoDB Local runs with -sharedDb, so any region and key see the same tables.
 * `agent`: DynamoDB Local's own (`DynamoDbLocal.agent`), for a client in the process that started it.
 */
export function localDynamoClient(endpoint: string, agent?: Agent) {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'stagehooks', secretAccessKey: 'stagehooks' },
    ...(agent ? { requestHandler: { httpAgent: agent } } : {}),
  });
}

/** Fake ARNs for the placeholders: locally every Task state is dispatched by name, never to AWS. */
function localPlaceholders(): Record<DefinitionPlaceholder, string> {
  const values = Object.fromEntries(
    definitionPlaceholders.map((name) => [
      name,
      `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:stagehooks-${name.replace(/FunctionArn$/, '')}`,
    ]),
  ) as Record<DefinitionPlaceholder, string>;
  return {
    ...values,
    ScriptQueueUrl: `https://sqs.${LOCAL_REGION}.amazonaws.com/${LOCAL_ACCOUNT}/stagehooks-scripts`,
    ScriptClusterArn: `arn:aws:ecs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:cluster/stagehooks`,
    ScriptTaskDefinitionArn: `arn:aws:ecs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:task-definition/stagehooks-script:1`,
    ScriptContainerName: 'script-runner',
    ScriptSubnetId: 'subnet-local',
    ScriptSecurityGroupId: 'sg-local',
    EventBusName: stagehooksBusName,
  };
}

/** `job-42-post_segment-5b7c1a8e3f0a`: what ops look for in the execution list. */
export function executionNameFor(event: EventBridgeEvent): string {
  const detail = event.detail as { jobId?: unknown; hookPoint?: unknown };
  const parts = [detail.jobId, detail.hookPoint].filter((p): p is string => typeof p === 'string');
  const id = event.id.replace(/-/g, '').slice(0, 12);
  return [...parts, id]
    .join('-')
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(-80);
}

/**
 * Where an execution stood when it stopped: the output of the last state it left, or the input of the
 * last it entered, whichever came later (a Task that finished has its result in its output).
 */
function lastStateData(record: ExecutionRecord): unknown {
  const last = [...record.raw].reverse().find((e) => e.type === 'StateEntered' || e.type === 'StateExited');
  return last?.type === 'StateExited' ? last.state?.output : last?.state?.input;
}

export interface LocalStackChecks {
  /** Every Task input deep-frozen: a handler that changes its input (the state's data) fails. */
  freezeTaskInputs?: boolean;
  /** The log store the engine writes to, wrapped: a test makes its writes fail. */
  engineLogs?: (logs: ExecutionLogStore) => ExecutionLogStore;
}

/**
 * The data folder holds the admin token, the endpoint's AWS key pair, the hooks' signing secrets (in DynamoDB Local's file) and every
 * execution's data: it is made private to this user, and one left open to others is closed, with a note.
 */
async function privateHome(home: string) {
  await mkdir(home, { recursive: true, mode: 0o700 });
  const { mode } = await stat(home);
  if ((mode & 0o077) === 0) return;
  await chmod(home, 0o700);
  console.warn(
    `stagehooks: ${home} was open to other users of this machine; it is now private to you (it holds the admin token and the hooks' signing secrets)`,
  );
}

/**
 * Starts the embedded stack's components on this machine; `stop` takes them down in reverse order.
 * `checks` are for tests: stricter, slower.
 */
export async function startLocalStack(
  config: LocalConfig,
  checks: LocalStackChecks = {},
): Promise<LocalStack> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    await privateHome(config.home);
    const dynamo = await startDynamoDbLocal({
      port: config.ports.dynamodb,
      dataDir: config.dataDir.dynamodb,
    });
    cleanups.push(() => dynamo.stop());
    const dynamoClient = localDynamoClient(dynamo.endpoint, dynamo.agent);
    cleanups.push(() => dynamoClient.destroy());
    const table = await ensureTable(dynamoClient, config.tableName);

    const doc = documentClient(dynamoClient);
    const tableName = config.tableName;
    const registry = new DynamoHookRegistry(doc, { tableName });
    const logs = new DynamoExecutionLogStore(doc, { tableName, retentionDays: config.logRetentionDays });
    const reviews = new DynamoReviewStore(doc, { tableName });
    const claims = new DynamoEventClaims(doc, { tableName });

    const bus = new LocalEventBus({
      forwardTo: config.eventTargetUrl,
      onForwardError: (error) =>
        console.warn(`stagehooks: could not forward an event to ${config.eventTargetUrl}: ${error.message}`),
      onDeliveryError: (error) => console.error(`stagehooks: ${error.message}`),
    });
    const events: EventPublisher = {
      publish: async (entries) => {
        const result = await bus.putEvents(
          entries.map((e) => ({
            Source: stagehooksEventSource,
            DetailType: e.detailType,
            Detail: JSON.stringify(e.detail),
            EventBusName: stagehooksBusName,
          })),
        );
        if (result.FailedEntryCount > 0)
          throw new Error(`PutEvents failed: ${JSON.stringify(result.Entries)}`);
      },
    };
    const webhooks = new HttpWebhookSender({
      secrets: new LocalSecretResolver(join(config.home, 'secrets.json')),
      allow: config.webhookAllow,
    });
    cleanups.push(() => webhooks.close());
    const sandbox = resolveScriptSandbox(config.scriptSandbox);
    await mkdir(config.dataDir.scripts, { recursive: true });
    const launcher = await ScriptLauncher.start(join(config.home, 'run')).catch((error: unknown) => {
      console.warn(
        `stagehooks: script processes are started from the stack's own process (slower): the script launcher could not start: ${error instanceof Error ? error.message : String(error)}`,
      );
      return null;
    });
    if (launcher !== null) cleanups.push(() => launcher.close());
    const scriptLauncher = launcher ?? inProcessLauncher;
    const scriptUsers = await localScriptUsers(config, sandbox);
    if (scriptUsers.warning) console.warn(`stagehooks: ${scriptUsers.warning}`);
    const scripts = new ProcessScriptRunner({
      scriptStore: new DirectoryScriptStore(config.dataDir.scripts),
      sandbox: config.scriptSandbox,
      venvsRoot: config.dataDir.venvs,
      launcher: scriptLauncher,
      limits: config.scriptLimits,
      ...scriptUsers.options,
      ...(config.media === null ? {} : { media: config.media }),
    });
    const engineLogs = checks.engineLogs?.(logs) ?? logs;
    const tasks = new StageTasks({ registry, logs: engineLogs, reviews, claims, webhooks, scripts, events });

    const sfn = new LocalStepFunctions({
      dataDir: config.dataDir.executions,
      freezeTaskInputs: checks.freezeTaskInputs ?? false,
    });
    cleanups.push(() => sfn.close());
    const definition = substitutePlaceholders(
      stageStateMachineDefinition({ reviewTimeoutSeconds: config.reviewTimeoutSeconds }),
      localPlaceholders(),
    );
    const stateMachineArn = sfn.createStateMachine(
      STATE_MACHINE_NAME,
      definition,
      localTaskHandlers(createStageHandlers(tasks), bus),
    );
    bus.addRule({
      name: 'stage-reached',
      pattern: stageReachedPattern,
      target: (event) => {
        sfn.startExecution({ stateMachineArn, name: executionNameFor(event), input: JSON.stringify(event) });
      },
    });

    const interrupted = await sfn.recoverInterrupted((record) =>
      concludeInterrupted(
        { logs: engineLogs, reviews, events },
        lastStateData(record),
        record.executionArn,
        'the local stack stopped while this stage was running',
      ).then(() => undefined),
    );

    const aws = await loadAwsCredentials(config.home, config.awsCredentials);
    const endpoint: Server = createAwsEndpoint({ sfn, bus, credentials: aws.keys });
    await listen(endpoint, config.ports.aws);
    cleanups.push(() => closeServer(endpoint));

    // The admin API reaches Step Functions the way it does on AWS: a real SDK client, here pointed
    // at the local endpoint.
    const sfnClient = new SFNClient({
      endpoint: `http://127.0.0.1:${config.ports.aws}`,
      region: LOCAL_REGION,
      credentials: aws.keys,
    });
    cleanups.push(() => sfnClient.destroy());
    const apiUrl = `http://127.0.0.1:${config.ports.api}${API_PREFIX}`;
    const scriptTests = new LocalScriptTestQueue({
      tests: new ScriptTests({ registry, logs, scripts }),
      log: {
        info: () => undefined,
        warn: (message) => console.warn(`stagehooks: ${message}`),
        error: (message, fields) => console.error(`stagehooks: ${message}`, fields ?? ''),
      },
    });
    cleanups.push(() => scriptTests.close());
    const adminApi = createAdminApi(
      {
        registry,
        logs,
        reviews,
        claims,
        executions: new StepFunctionsExecutions(sfnClient),
        tasks: new StepFunctionsTaskReporter(sfnClient),
        webhooks,
        scriptTests,
        stateMachineArn,
        scriptsSandboxed: sandbox.mode === 'bubblewrap',
        catalog: await loadCatalog(config.catalogDir),
      },
      { serverUrl: apiUrl },
    );
    const tokens = await LocalTokens.load(config.home, config.adminToken);
    const apiServer = createApiServer({
      handler: adminApi,
      tokens,
      corsOrigins: config.corsOrigins,
      port: config.ports.api,
    });
    await listen(apiServer, config.ports.api);
    cleanups.push(() => closeServer(apiServer));

    return {
      config,
      dynamo,
      dynamoClient,
      table,
      endpoints: { api: apiUrl, aws: `http://127.0.0.1:${config.ports.aws}`, dynamodb: dynamo.endpoint },
      adminToken: tokens.adminToken,
      adminTokenFile: tokens.adminTokenFile,
      awsCredentials: aws.keys,
      awsCredentialsFile: aws.file,
      registry,
      logs,
      reviews,
      sfn,
      bus,
      stateMachineArn,
      sandbox,
      scriptLauncher,
      interrupted,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
