import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { CatalogInstall, loadCatalog } from '@stagehooks/core/catalog';
import {
  ExecutionStatus,
  FailureMode,
  HookPoint,
  hookPoints,
  isJsonObject,
  parseOrThrow,
  ScopeType,
  type StageEventDetail,
  stageReachedEntry,
} from '@stagehooks/core/domain';
import { DynamoExecutionLogStore, DynamoHookRegistry, documentClient } from '@stagehooks/core/dynamodb';
import { RunState } from '@stagehooks/core/engine';
import { StagehooksError, ValidationError } from '@stagehooks/core/errors';
import { localAwsCredentials } from '../aws-endpoint';
import { type LocalConfig, loadLocalConfig } from '../config';
import { DEMO_PROJECT, demoAlreadyRan, formatStage, runDemo, startDemoReceiver } from '../demo';
import { applyHooks, parseHooksFile } from '../hooks-file';
import { localDynamoClient, STATE_MACHINE_NAME, startLocalStack } from '../stack';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../step-functions/local-step-functions';
import { formatDuration, formatTable } from './table';

const usage = `usage: stagehooks <command> [options]

commands:
  start [--no-demo]                       run the local stack in the foreground (Ctrl-C stops it)
  emit <hookPoint> --job <id> --project <id> [--scene-type <id>] [--detail <file.json>] [--timeout <s>]
                                          send a "Stage Reached" event and print the verdict
  logs --job <id> [--status <status>]     every hook execution of a job
  hooks apply -f <hooks.json> [--actor <name>]
                                          create or update hooks by name and scope (idempotent)
  hooks list [--scope-type <t>] [--scope-id <id>] [--hook-point <p>]
  catalog list                            the ready-made hooks of the catalog
  catalog show <id>                       an entry's parameters, defaults and README
  catalog install <id> --hook-point <p> --scope-type <t> [--scope-id <id>] [--name <name>]
          [--failure-mode block|warn|ignore] [--params <json> | --params-file <file.json>]
          [--param name=value ...] [--actor <name>]
                                          install an entry as a hook (parameters checked)

hook points: ${hookPoints.join(', ')}
The commands other than start talk to a running stack (ports from the same STAGEHOOKS_* variables).
`;

type Print = (text: string) => void;

/** Runs one command; returns the exit code (0 ok, 1 failure, 2 usage, 3 stage blocked). */
export async function runCli(
  argv: string[],
  print: Print = console.log,
  printError: Print = console.error,
): Promise<number> {
  try {
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        'no-demo': { type: 'boolean' },
        job: { type: 'string' },
        project: { type: 'string' },
        'scene-type': { type: 'string' },
        detail: { type: 'string' },
        timeout: { type: 'string' },
        status: { type: 'string' },
        file: { type: 'string', short: 'f' },
        actor: { type: 'string' },
        'scope-type': { type: 'string' },
        'scope-id': { type: 'string' },
        'hook-point': { type: 'string' },
        name: { type: 'string' },
        'failure-mode': { type: 'string' },
        params: { type: 'string' },
        'params-file': { type: 'string' },
        param: { type: 'string', multiple: true },
      },
    });
    const [command, ...rest] = positionals;
    if (values.help || !command) {
      print(usage);
      return 0;
    }
    const config = loadLocalConfig();
    switch (command) {
      case 'start':
        return await start(config, { demo: config.demo && !values['no-demo'] }, print);
      case 'emit':
        return await emit(config, rest[0], values, print);
      case 'logs':
        return await logs(config, values, print);
      case 'hooks':
        if (rest[0] === 'apply') return await hooksApply(config, values, print);
        if (rest[0] === 'list') return await hooksList(config, values, print);
        printError(`stagehooks: "hooks" needs "apply" or "list"\n\n${usage}`);
        return 2;
      case 'catalog':
        if (rest[0] === 'list') return await catalogList(config, print);
        if (rest[0] === 'show') return await catalogShow(config, rest[1], print);
        if (rest[0] === 'install') return await catalogInstall(config, rest[1], values, print);
        printError(`stagehooks: "catalog" needs "list", "show <id>" or "install <id>"\n\n${usage}`);
        return 2;
      default:
        printError(`stagehooks: unknown command "${command}"\n\n${usage}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ValidationError) {
      printError(`stagehooks: ${error.message}`);
      return 2;
    }
    if (
      error instanceof StagehooksError ||
      (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      printError(`stagehooks: ${(error as Error).message}`);
      return error instanceof StagehooksError ? 1 : 2;
    }
    if (isConnectionRefused(error)) {
      printError(
        'stagehooks: no local stack answers on the configured ports; start it first with `npm start`',
      );
      return 1;
    }
    // Anything else is a bug: keep the stack trace.
    printError(String((error as Error).stack ?? error));
    return 1;
  }
}

function isConnectionRefused(error: unknown): boolean {
  const text = `${(error as Error)?.message ?? ''} ${String((error as { code?: unknown })?.code ?? '')} ${String((error as Error)?.cause ?? '')}`;
  return /ECONNREFUSED/.test(text);
}

async function start(config: LocalConfig, options: { demo: boolean }, print: Print): Promise<number> {
  const receiver = options.demo ? await startDemoReceiver(config.ports.demoReceiver) : undefined;
  // The demo receiver is allowlisted explicitly, only while the demo runs; nothing loopback is by default.
  const stack = await startLocalStack(
    receiver
      ? { ...config, webhookAllow: [...config.webhookAllow, `127.0.0.1:${config.ports.demoReceiver}`] }
      : config,
  );
  const shutdown = async (signal: string) => {
    print(`\n${signal}: stopping`);
    await stack.stop();
    receiver?.server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  // A closed terminal: the same orderly stop (the launcher, in the same group, ends its scripts itself).
  process.once('SIGHUP', () => void shutdown('SIGHUP'));

  const rows = [
    ['admin API', `${stack.endpoints.api}  (OpenAPI: ${stack.endpoints.api}/openapi.json)`],
    ['admin token', stack.adminTokenFile ? `in ${stack.adminTokenFile}` : 'from STAGEHOOKS_ADMIN_TOKEN'],
    ['AWS endpoint', `${stack.endpoints.aws}  (EventBridge PutEvents, Step Functions)`],
    [
      'AWS credentials',
      stack.awsCredentialsFile
        ? `profile stagehooks in ${stack.awsCredentialsFile}`
        : 'from STAGEHOOKS_AWS_ACCESS_KEY_ID',
    ],
    ['state machine', stack.stateMachineArn],
    ['DynamoDB Local', `${stack.endpoints.dynamodb}  (table ${config.tableName}, ${stack.table})`],
    ...(receiver ? [['demo receiver', `${receiver.url}  (the demo webhooks' target)`]] : []),
    ['data', config.home],
    ['script sandbox', stack.sandbox.mode === 'bubblewrap' ? 'bubblewrap' : 'none'],
    ...(config.eventTargetUrl ? [['events forwarded to', config.eventTargetUrl]] : []),
  ];
  print(
    `stagehooks local stack is up\n${rows.map(([k, v]) => `  ${(k as string).padEnd(20)}${v}`).join('\n')}`,
  );
  if (stack.sandbox.warning) print(`warning: ${stack.sandbox.warning}`);
  if (stack.dynamo.warning) print(`warning: ${stack.dynamo.warning}`);
  if (stack.interrupted.length > 0) {
    print(
      `ended ${stack.interrupted.length} execution(s) the last stop interrupted: ${stack.interrupted.map((r) => r.name).join(', ')}`,
    );
  }
  if (receiver && !demoAlreadyRan(config.home)) {
    print('');
    await runDemo(stack, receiver.url, print);
  }
  print(
    `\ntry: npm run stagehooks -- emit post_segment --job job-1 --project ${DEMO_PROJECT}\nPress Ctrl-C to stop.`,
  );
  return 0;
}

const clients = (config: LocalConfig) => {
  const endpoint = `http://127.0.0.1:${config.ports.aws}`;
  const credentials = localAwsCredentials(config.home, config.awsCredentials);
  return {
    eventBridge: new EventBridgeClient({ endpoint, region: LOCAL_REGION, credentials }),
    sfn: new SFNClient({ endpoint, region: LOCAL_REGION, credentials }),
  };
};

async function emit(
  config: LocalConfig,
  hookPointArg: string | undefined,
  values: Record<string, unknown>,
  print: Print,
): Promise<number> {
  const hookPoint = HookPoint.safeParse(hookPointArg);
  if (!hookPoint.success)
    throw new ValidationError('emit', [
      { path: 'hookPoint', message: `must be one of ${hookPoints.join(', ')}` },
    ]);
  const missing = ['job', 'project'].filter((name) => typeof values[name] !== 'string');
  if (missing.length > 0)
    throw new ValidationError(
      'emit',
      missing.map((name) => ({ path: `--${name}`, message: 'is required' })),
    );
  const extra = typeof values.detail === 'string' ? await detailFile(values.detail) : {};
  const detail = {
    ...extra,
    hookPoint: hookPoint.data,
    jobId: values.job as string,
    projectId: values.project as string,
    ...(typeof values['scene-type'] === 'string' && { sceneTypeId: values['scene-type'] }),
  };
  const timeoutSeconds = Number(values.timeout ?? 60);
  if (!(timeoutSeconds > 0))
    throw new ValidationError('emit', [{ path: '--timeout', message: 'must be a number of seconds' }]);
  const timeoutMs = timeoutSeconds * 1000;
  const { eventBridge, sfn } = clients(config);
  try {
    const put = await eventBridge.send(
      new PutEventsCommand({
        Entries: [stageReachedEntry(detail)],
      }),
    );
    const eventId = put.Entries?.[0]?.EventId;
    if (!eventId)
      throw new StagehooksError(
        `the event was not accepted: ${put.Entries?.[0]?.ErrorMessage ?? 'unknown reason'}`,
      );
    const stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${STATE_MACHINE_NAME}`;
    const suffix = eventId.replace(/-/g, '').slice(0, 12);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { executions = [] } = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn, maxResults: 100 }),
      );
      const execution = executions.find((e) => e.name?.endsWith(suffix));
      if (execution?.executionArn) {
        const described = await sfn.send(
          new DescribeExecutionCommand({ executionArn: execution.executionArn }),
        );
        if (described.status === 'SUCCEEDED') {
          const run = RunState.parse((JSON.parse(described.output ?? '{}') as { run?: unknown }).run);
          print(`${execution.name}`);
          print(
            formatStage(
              hookPoint.data,
              {
                jobId: detail.jobId,
                hookPoint: hookPoint.data,
                verdict: run.verdict,
                executionId: execution.executionArn,
                results: run.results,
                review: run.review,
                outputs: run.outputs,
                stage: run.stage,
                patches: run.patches,
              },
              run.detachedResults,
            ),
          );
          return run.verdict === 'blocked' ? 3 : 0;
        }
        if (described.status !== 'RUNNING') {
          print(
            `${execution.name}: ${described.status} ${described.error ?? ''} ${described.cause ?? ''}`.trim(),
          );
          return 1;
        }
        const { events = [] } = await sfn.send(
          new GetExecutionHistoryCommand({
            executionArn: execution.executionArn,
            reverseOrder: true,
            maxResults: 20,
          }),
        );
        const awaiting = events.find((e) => e.stateEnteredEventDetails)?.stateEnteredEventDetails;
        if (awaiting?.name === 'AwaitReview') {
          const reviewId = (JSON.parse(awaiting.input ?? '{}') as { review?: { reviewId?: string } }).review
            ?.reviewId;
          print(
            `${execution.name}: BLOCKED, waiting for review ${reviewId ?? ''} (approve or reject it through the admin API)`,
          );
          return 3;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    print(
      `no verdict within ${timeoutMs / 1000} s; the stage may still be running (see \`stagehooks logs --job ${detail.jobId}\`)`,
    );
    return 1;
  } finally {
    eventBridge.destroy();
    sfn.destroy();
  }
}

/** A file an option names, or a ValidationError naming the option (exit 2), never a stack trace. */
async function optionFile(option: string, file: string, subject: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder' : String(code ?? error);
    throw new ValidationError(subject, [{ path: option, message: `cannot read ${file} (${reason})` }], {
      cause: error,
    });
  }
}

/** `--detail`: a JSON object of stage event fields. */
async function detailFile(file: string): Promise<Partial<StageEventDetail>> {
  const text = await optionFile('--detail', file, 'emit');
  let detail: unknown;
  try {
    detail = JSON.parse(text);
  } catch (error) {
    throw new ValidationError('emit', [
      { path: '--detail', message: `${file} is not JSON: ${(error as Error).message}` },
    ]);
  }
  if (!isJsonObject(detail))
    throw new ValidationError('emit', [{ path: '--detail', message: `${file} must hold a JSON object` }]);
  return detail as Partial<StageEventDetail>;
}

/** An enum option, or a ValidationError listing what it takes. */
function choice<T extends string>(option: string, value: unknown, allowed: readonly T[], subject: string) {
  if (value === undefined) return undefined;
  if (allowed.includes(value as T)) return value as T;
  throw new ValidationError(subject, [{ path: option, message: `must be one of ${allowed.join(', ')}` }]);
}

function withRegistry<T>(
  config: LocalConfig,
  work: (stores: { registry: DynamoHookRegistry; logs: DynamoExecutionLogStore }) => Promise<T>,
) {
  const client = localDynamoClient(`http://127.0.0.1:${config.ports.dynamodb}`);
  const doc = documentClient(client);
  return work({
    registry: new DynamoHookRegistry(doc, { tableName: config.tableName }),
    logs: new DynamoExecutionLogStore(doc, {
      tableName: config.tableName,
      retentionDays: config.logRetentionDays,
    }),
  }).finally(() => client.destroy());
}

async function logs(config: LocalConfig, values: Record<string, unknown>, print: Print): Promise<number> {
  if (typeof values.job !== 'string')
    throw new ValidationError('logs', [{ path: '--job', message: 'is required' }]);
  const status = choice('--status', values.status, ExecutionStatus.options, 'logs');
  return withRegistry(config, async ({ logs: store }) => {
    const rows = [];
    let cursor: string | undefined;
    do {
      const page = await store.listByJob(values.job as string, { status, cursor, limit: 100 });
      rows.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    if (rows.length === 0) {
      print(`no hook executions logged for job ${values.job}`);
      return 0;
    }
    print(
      formatTable(
        rows.map((l) => ({
          started: l.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
          point: l.hookPoint,
          hook: l.hookName,
          status: l.status,
          outcome: l.outcome,
          duration: formatDuration(l.durationMs),
          'exit/http': l.exitCode ?? l.responseStatus,
          error: l.errorMessage?.split('\n')[0]?.slice(0, 80),
        })),
        ['started', 'point', 'hook', 'status', 'outcome', 'duration', 'exit/http', 'error'],
      ),
    );
    return 0;
  });
}

async function hooksApply(
  config: LocalConfig,
  values: Record<string, unknown>,
  print: Print,
): Promise<number> {
  if (typeof values.file !== 'string')
    throw new ValidationError('hooks apply', [{ path: '-f', message: 'is required: the hooks file' }]);
  const hooks = parseHooksFile(await optionFile('-f', values.file, 'hooks apply'), values.file);
  return withRegistry(config, async ({ registry }) => {
    const results = await applyHooks(
      registry,
      hooks,
      typeof values.actor === 'string' ? values.actor : 'cli',
    );
    print(
      formatTable(
        results.map(({ hook, action }) => ({
          action,
          name: hook.name,
          point: hook.hookPoint,
          scope: hook.scopeId ? `${hook.scopeType} ${hook.scopeId}` : hook.scopeType,
          revision: hook.revision,
          id: hook.id,
        })),
        ['action', 'name', 'point', 'scope', 'revision', 'id'],
      ),
    );
    for (const { hook, signingSecret } of results) {
      if (signingSecret) print(`signing secret of ${hook.name} (${hook.id}), shown once: ${signingSecret}`);
    }
    const counts = ['created', 'updated', 'unchanged'].map(
      (a) => `${results.filter((r) => r.action === a).length} ${a}`,
    );
    print(counts.join(', '));
    return 0;
  });
}

async function hooksList(
  config: LocalConfig,
  values: Record<string, unknown>,
  print: Print,
): Promise<number> {
  const scopeType = choice('--scope-type', values['scope-type'], ScopeType.options, 'hooks list');
  const hookPoint = choice('--hook-point', values['hook-point'], HookPoint.options, 'hooks list');
  return withRegistry(config, async ({ registry }) => {
    const hooks = [];
    let cursor: string | undefined;
    do {
      const page = await registry.list(
        { scopeType, scopeId: values['scope-id'] as string | undefined, hookPoint },
        { cursor, limit: 100 },
      );
      hooks.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    print(
      hooks.length === 0
        ? 'no hooks'
        : formatTable(
            hooks.map((h) => ({
              point: h.hookPoint,
              scope: h.scopeId ? `${h.scopeType} ${h.scopeId}` : h.scopeType,
              name: h.name,
              type: h.type,
              mode: h.failureMode,
              order: h.sortOrder,
              enabled: h.enabled ? 'yes' : 'no',
              rev: h.revision,
              id: h.id,
            })),
            ['point', 'scope', 'name', 'type', 'mode', 'order', 'enabled', 'rev', 'id'],
          ),
    );
    return 0;
  });
}

async function catalogList(config: LocalConfig, print: Print): Promise<number> {
  const catalog = await loadCatalog(config.catalogDir);
  print(
    formatTable(
      catalog.list().map((entry) => ({
        id: entry.id,
        version: entry.version,
        type: entry.type,
        points: entry.hookPoints.join(', '),
        title: entry.title,
      })),
      ['id', 'version', 'type', 'points', 'title'],
    ),
  );
  return 0;
}

async function catalogShow(config: LocalConfig, id: string | undefined, print: Print): Promise<number> {
  if (!id) throw new ValidationError('catalog show', [{ path: '<id>', message: 'is required: an entry id' }]);
  const entry = (await loadCatalog(config.catalogDir)).get(id);
  const properties = (entry.params.properties ?? {}) as Record<
    string,
    { description?: string; default?: unknown }
  >;
  const required = new Set((entry.params.required as string[] | undefined) ?? []);
  print(`${entry.id} ${entry.version} (${entry.type}): ${entry.title}`);
  print(entry.description);
  print(
    `suggested at ${entry.hookPoints.join(', ')}; failure mode ${entry.defaults.failureMode}, timeout ${entry.defaults.timeoutSeconds} s`,
  );
  print('');
  print(
    formatTable(
      Object.entries(properties).map(([name, schema]) => ({
        parameter: name,
        default: required.has(name) ? '(required)' : JSON.stringify(schema.default),
        description: schema.description,
      })),
      ['parameter', 'default', 'description'],
    ),
  );
  print(`\nexample: ${JSON.stringify(entry.example)}\n`);
  print(entry.readme);
  return 0;
}

/** `--params <json>`, `--params-file <file>` and any `--param name=value` (a JSON value, else a string) on top. */
async function installParams(values: Record<string, unknown>): Promise<Record<string, unknown>> {
  const fail = (path: string, message: string) => new ValidationError('catalog install', [{ path, message }]);
  const parse = (path: string, text: string) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw fail(path, `is not JSON: ${(error as Error).message}`);
    }
    if (!isJsonObject(value)) throw fail(path, 'must be a JSON object');
    return value;
  };
  const params: Record<string, unknown> =
    typeof values.params === 'string'
      ? parse('--params', values.params)
      : typeof values['params-file'] === 'string'
        ? parse('--params-file', await optionFile('--params-file', values['params-file'], 'catalog install'))
        : {};
  for (const pair of (values.param as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw fail('--param', `"${pair}" must be name=value`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: the text itself
    }
    Object.defineProperty(params, pair.slice(0, eq), {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return params;
}

async function catalogInstall(
  config: LocalConfig,
  id: string | undefined,
  values: Record<string, unknown>,
  print: Print,
): Promise<number> {
  if (!id)
    throw new ValidationError('catalog install', [{ path: '<id>', message: 'is required: an entry id' }]);
  for (const option of ['hook-point', 'scope-type'])
    if (values[option] === undefined)
      throw new ValidationError('catalog install', [{ path: `--${option}`, message: 'is required' }]);
  const catalog = await loadCatalog(config.catalogDir);
  const request = parseOrThrow(
    CatalogInstall,
    {
      scopeType: choice('--scope-type', values['scope-type'], ScopeType.options, 'catalog install'),
      scopeId: (values['scope-id'] as string | undefined) ?? null,
      hookPoint: choice('--hook-point', values['hook-point'], HookPoint.options, 'catalog install'),
      ...(typeof values.name === 'string' && { name: values.name }),
      ...(values['failure-mode'] !== undefined && {
        failureMode: choice('--failure-mode', values['failure-mode'], FailureMode.options, 'catalog install'),
      }),
      params: await installParams(values),
    },
    'catalog install',
  );
  const { create, catalog: ref } = catalog.install(id, request);
  return withRegistry(config, async ({ registry }) => {
    const actor = typeof values.actor === 'string' ? values.actor : 'cli';
    const { hook, signingSecret } = await registry.create(create, actor, { catalog: ref });
    print(
      `installed ${ref.id} ${ref.version} as ${hook.name} (${hook.id}) at ${hook.hookPoint}, ${hook.scopeId ? `${hook.scopeType} ${hook.scopeId}` : hook.scopeType}`,
    );
    if (signingSecret) print(`signing secret of ${hook.name}, shown once: ${signingSecret}`);
    return 0;
  });
}
