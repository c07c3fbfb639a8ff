/**
 * Pieces of the engine benchmark: the webhook receiver, the DynamoDB operation counter, the direct
 * baseline (the stage's work without the state machine) and a bare process spawn.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type ExecutionLogDraft,
  type Hook,
  StageEventDetail,
  stageCompletedDetailType,
  stagehooksBusName,
  stagehooksEventSource,
} from '@stagehooks/core/domain';
import {
  DynamoEventClaims,
  DynamoExecutionLogStore,
  DynamoHookRegistry,
  documentClient,
} from '@stagehooks/core/dynamodb';
import {
  executionLogDraft,
  hookInputFor,
  invocationIdOf,
  outcomeOf,
  type Stage,
  type StageResult,
  stageContextOf,
} from '@stagehooks/core/engine';
import type { ProcessLauncher } from '@stagehooks/core/executors/script';
import { CachedResolver } from '@stagehooks/core/inheritance';
import type { ScriptRunner, WebhookSender } from '@stagehooks/core/ports';
import type { LocalEventBus } from '@stagehooks/local/event-bus';

// ------------------------------------------------------------------------------------------- receiver

/**
 * A keep-alive HTTP receiver on 127.0.0.1 that answers 200 with an empty body at once, and adds up,
 * per job, its own handling time: from the request's headers to the end of the response (the body read
 * included). That sum is a webhook hook's "own time".
 */
/** Webhook paths whose answer hands data and a metadata patch on, about 1 KiB of data each. */
export const FLOW_PATH = '/flow/';
/** Webhook paths that answer after `DETACHED_DELAY_MS`, as a slow notification would. */
export const DETACHED_PATH = '/detached/';
export const DETACHED_DELAY_MS = 50;
const FLOW_PAD = 'x'.repeat(1000);
const flowBodies = new Map<string, string>();
/** `{ data: { hook, pad }, patch: { metadata: { <hook>: true } } }`: 1 KiB of data, a one-key patch. */
function flowBody(path: string): string {
  let body = flowBodies.get(path);
  if (!body) {
    const hook = path.slice(FLOW_PATH.length);
    body = JSON.stringify({
      data: { hook, pad: FLOW_PAD },
      patch: { metadata: { [`checked_${hook}`]: true } },
    });
    flowBodies.set(path, body);
  }
  return body;
}

export async function startWebhookReceiver() {
  const ownMs = new Map<string, number>();
  /** Per job, when each request came in and when its response was written, in order. */
  const calls = new Map<string, Array<{ start: number; end: number }>>();
  let requests = 0;
  const server: Server = createServer((request, response) => {
    const start = performance.now();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      if (path.startsWith(DETACHED_PATH)) {
        // A slow notification: the verdict must not wait for it.
        setTimeout(() => response.end(), DETACHED_DELAY_MS);
        return;
      }
      const body = path.startsWith(FLOW_PATH) ? flowBody(path) : '';
      response.writeHead(200, {
        'content-length': String(Buffer.byteLength(body)),
        ...(body && { 'content-type': 'application/json' }),
      });
      response.end(body);
      const own = performance.now() - start;
      requests++;
      const jobId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { jobId?: string }).jobId ?? '';
      ownMs.set(jobId, (ownMs.get(jobId) ?? 0) + own);
      const call = { start, end: start + own };
      const jobCalls = calls.get(jobId);
      if (jobCalls) jobCalls.push(call);
      else calls.set(jobId, [call]);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    requests: () => requests,
    /** The receiver's handling time for every request of this job, in ms (0 if none arrived). */
    takeOwnMs(jobId: string): number {
      const own = ownMs.get(jobId) ?? 0;
      ownMs.delete(jobId);
      return own;
    },
    /** When this job's first call came in and its last was answered (performance.now()), without taking them. */
    spanOf(jobId: string): { firstStart: number; lastEnd: number } | undefined {
      const jobCalls = calls.get(jobId);
      const first = jobCalls?.[0];
      const last = jobCalls?.at(-1);
      return first && last ? { firstStart: first.start, lastEnd: last.end } : undefined;
    },
    /**
     * For each of this job's calls after the first: from the response to the call before to this request
     * (ms). Between a stage's hooks this is all orchestration, with no DynamoDB round trip in it.
     */
    takeGapsMs(jobId: string): number[] {
      const jobCalls = calls.get(jobId) ?? [];
      calls.delete(jobId);
      return jobCalls.slice(1).map((call, i) => call.start - (jobCalls[i] as { end: number }).end);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

// ------------------------------------------------------------------------------------- operation count

const WRITES = /^(Put|Update|Delete|TransactWrite|BatchWrite)/;

/**
 * Counts every DynamoDB command a client sends (one per `send`, retries not counted), by command name,
 * and keeps each one's latency as the caller sees it (send to result, SDK work included).
 */
export class OperationCounter {
  private readonly counts = new Map<string, number>();
  private readonly latencies = new Map<string, number[]>();

  constructor(client: DynamoDBClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
        this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
        const start = performance.now();
        const output = await next(args);
        const took = performance.now() - start;
        const samples = this.latencies.get(name) ?? [];
        samples.push(took);
        this.latencies.set(name, samples);
        return output;
      },
      { step: 'initialize', name: 'benchOperationCounter' },
    );
  }

  snapshot(): Map<string, number> {
    return new Map(this.counts);
  }

  /** What was sent since `before` (a snapshot). */
  since(before: Map<string, number>): Map<string, number> {
    const delta = new Map<string, number>();
    for (const [name, count] of this.counts) {
      const added = count - (before.get(name) ?? 0);
      if (added > 0) delta.set(name, added);
    }
    return delta;
  }

  /** Latencies recorded since the last call, by command; forgets them. */
  takeLatencies(): Map<string, number[]> {
    const taken = new Map(this.latencies);
    this.latencies.clear();
    return taken;
  }
}

export function addCounts(into: Map<string, number>, from: Map<string, number>) {
  for (const [name, count] of from) into.set(name, (into.get(name) ?? 0) + count);
}

export function writesAndReads(counts: Map<string, number>, stages: number) {
  let writes = 0;
  let reads = 0;
  for (const [name, count] of counts) {
    if (WRITES.test(name)) writes += count;
    else reads += count;
  }
  return { writes: writes / stages, reads: reads / stages };
}

// ------------------------------------------------------------------------------------ direct baseline

export interface DirectDeps {
  client: DynamoDBClient;
  tableName: string;
  retentionDays: number;
  webhooks: WebhookSender;
  scripts: ScriptRunner;
  bus: LocalEventBus;
}

/**
 * A stage's work done by hand, without the state machine: validate the event, claim its id, resolve the
 * effective hooks (the engine's cached resolution: one read of the generations), run the hooks, write their logs together (as the engine
 * does for hooks that follow each other without a wait), then put the verdict on the bus. The same store adapters and executors as the engine, on a client of its own; the
 * hook and its signing secret are cached after the first read, as the engine does.
 */
export class DirectStage {
  private readonly claims: DynamoEventClaims;
  private readonly registry: DynamoHookRegistry;
  private readonly logs: DynamoExecutionLogStore;
  private readonly secrets = new Map<string, string>();
  private readonly resolver: CachedResolver;

  constructor(private readonly deps: DirectDeps) {
    const doc = documentClient(deps.client);
    this.claims = new DynamoEventClaims(doc, { tableName: deps.tableName });
    this.registry = new DynamoHookRegistry(doc, { tableName: deps.tableName });
    this.logs = new DynamoExecutionLogStore(doc, {
      tableName: deps.tableName,
      retentionDays: deps.retentionDays,
    });
    this.resolver = new CachedResolver(this.registry);
  }

  /** Runs one stage; resolves with the stage's results (durationMs as the executor measured). */
  async run(eventId: string, detail: Record<string, unknown>): Promise<StageResult[]> {
    const parsed = StageEventDetail.parse(detail);
    const executionId = `arn:aws:states:us-east-1:000000000000:execution:direct:${eventId}`;
    const claim = { eventId, executionId, jobId: parsed.jobId, hookPoint: parsed.hookPoint };
    if ((await this.claims.claim(claim)) !== 'claimed')
      throw new Error(`direct stage: event ${eventId} was claimed before`);
    const stage: Stage = { eventId, ...stageContextOf(parsed) };
    const effective = await this.resolver.resolve(stage);
    const results: StageResult[] = [];
    // Logs go out as the engine writes them here: together, once, before the verdict.
    const drafts: Array<{ draft: ExecutionLogDraft; id: string }> = [];
    let verdict: 'passed' | 'warned' = 'passed';
    for (const [index, { hook }] of effective.entries()) {
      const input = hookInputFor(
        stage,
        { id: hook.id, name: hook.name, revision: hook.revision },
        invocationIdOf(executionId, index),
        false,
      );
      const result =
        hook.type === 'webhook'
          ? await this.deps.webhooks.send(hook, input, await this.signingSecret(hook))
          : await this.deps.scripts.run(hook, input);
      const outcome = outcomeOf(result.status, hook.failureMode);
      if (outcome === 'warned') verdict = 'warned';
      // Under the invocation id, as the engine does (deterministic, no new id minted).
      drafts.push({
        draft: executionLogDraft(hook, input, result, { hookPoint: stage.hookPoint, executionId, outcome }),
        id: input.invocationId,
      });
      results.push({
        hookId: hook.id,
        name: hook.name,
        status: result.status,
        outcome,
        durationMs: result.durationMs,
        logId: input.invocationId,
      });
    }
    await this.logs.appendAll(drafts);
    const put = await this.deps.bus.putEvents([
      {
        Source: stagehooksEventSource,
        DetailType: stageCompletedDetailType,
        EventBusName: stagehooksBusName,
        Detail: JSON.stringify({
          jobId: stage.jobId,
          hookPoint: stage.hookPoint,
          verdict,
          executionId,
          results,
          review: null,
        }),
      },
    ]);
    if (put.FailedEntryCount > 0) throw new Error('direct stage: the verdict was not put on the bus');
    return results;
  }

  private async signingSecret(hook: Hook): Promise<string> {
    const key = `${hook.id}@${hook.revision}`;
    let secret = this.secrets.get(key);
    if (!secret) {
      secret = await this.registry.signingSecret(hook.id);
      if (!secret) throw new Error(`direct stage: webhook ${hook.name} has no signing secret`);
      this.secrets.set(key, secret);
    }
    return secret;
  }
}

// ------------------------------------------------------------------------------------------ bare spawn

/** Spawns `command` with pipes for stdout and stderr and resolves with the ms until it closed. */
export function bareSpawn(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(performance.now() - start);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}`));
    });
  });
}

/**
 * The same spawn through a script launcher (the stack's: a process of its own, reached over IPC), as
 * the script runner starts a script: own process group, stdin from a file, output captured.
 */
export async function launcherSpawn(
  launcher: ProcessLauncher,
  command: string,
  args: string[],
): Promise<number> {
  const start = performance.now();
  const finished = await launcher.run({
    command,
    args,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    cwd: '/',
    stdinFile: '/dev/null',
    timeoutMs: 10_000,
    captureBytes: 64 * 1024,
    user: null,
  });
  if (finished.exitCode !== 0)
    throw new Error(`${command} ${args.join(' ')} exited with ${finished.exitCode}`);
  return performance.now() - start;
}

// ------------------------------------------------------------------------------------ machine share

/**
 * Clock ticks from /proc: the whole machine (busy and total) and this process with its waited-for
 * children (DynamoDB Local, once stopped; every script). Undefined where there is no /proc.
 */
export function cpuTicks(): { busy: number; total: number; own: number } | undefined {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = (
      readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
    )
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number) as number[];
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    const self = readFileSync('/proc/self/stat', 'utf8');
    // After "(comm) ": state is field 3, so utime/stime/cutime/cstime (14-17) sit at 11-14.
    const fields = self
      .slice(self.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const own = fields[11]! + fields[12]! + fields[13]! + fields[14]!;
    return { busy, total: busy + idle! + iowait!, own };
  } catch {
    return undefined;
  }
}

/** What share of the machine this run and everything else used between two readings, in percent. */
export function machineShare(
  before: ReturnType<typeof cpuTicks>,
  after: ReturnType<typeof cpuTicks>,
): { ours: number; others: number } | undefined {
  if (!before || !after || after.total <= before.total) return undefined;
  const total = after.total - before.total;
  const ours = after.own - before.own;
  return { ours: (100 * ours) / total, others: (100 * Math.max(0, after.busy - before.busy - ours)) / total };
}
