/**
 * Effective-hook resolution cost against registries of 10, 1 000 and 20 000 hooks in unrelated scopes.
 * The target scopes hold the same hooks in every run, so only the registry's size changes.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { type Hook, HookCreate, type HookCreateInput } from '@stagehooks/core/domain';
import {
  DynamoHookRegistry,
  documentClient,
  ensureTable,
  hookItem,
  refItem,
} from '@stagehooks/core/dynamodb';
import { resolveEffectiveHooks } from '@stagehooks/core/inheritance';
import { startDynamoDbLocal } from '@stagehooks/local/dynamodb-local';
import { freePort } from '../test/support/free-port';
import { inParallel, ms, percentile } from './stats';

const SIZES = [10, 1_000, 20_000];
const WARMUP = 300;
const SAMPLES = 1_000;
const FLATNESS_LIMIT = 1.5;

const target = { hookPoint: 'post_segment', projectId: 'p-target', sceneTypeId: 'st-target' } as const;

function targetHooks(): HookCreateInput[] {
  const hooks: HookCreateInput[] = [];
  for (let i = 0; i < 4; i++) hooks.push(shell(`studio_${i}`, 'studio', undefined, i));
  for (let i = 0; i < 3; i++) hooks.push(shell(`studio_${i}`, 'project', target.projectId, 10 + i));
  for (let i = 0; i < 2; i++) hooks.push(shell(`scene_${i}`, 'scene_type', target.sceneTypeId, 20 + i));
  return hooks;
}

function shell(
  name: string,
  scopeType: HookCreateInput['scopeType'],
  scopeId: string | undefined,
  sortOrder: number,
) {
  return {
    name,
    type: 'shell',
    hookPoint: 'post_segment',
    scopeType,
    scopeId,
    sortOrder,
    config: { script: 'exit 0' },
  } as HookCreateInput;
}

/** Unrelated hooks: other projects and scene types, at the same point, so only size differs. */
function unrelatedHooks(count: number): HookCreateInput[] {
  return Array.from({ length: count }, (_, i) =>
    shell(`noise_${i % 5}`, i % 2 ? 'project' : 'scene_type', `other-${Math.floor(i / 5)}`, i % 50),
  );
}

/** Seeds through the registry's own item layout in batches: the registry API's transactions are slow to seed 20 000. */
async function seed(doc: DynamoDBDocumentClient, tableName: string, inputs: HookCreateInput[]) {
  const at = new Date().toISOString();
  const items = inputs.flatMap((input, i) => {
    const hook = {
      ...HookCreate.parse(input),
      id: `bench-${i}`,
      revision: 1,
      createdBy: 'bench',
      createdAt: at,
      updatedAt: at,
    } as Hook;
    return [hookItem(hook), refItem(hook)];
  });
  const batches = Array.from({ length: Math.ceil(items.length / 25) }, (_, i) =>
    items.slice(i * 25, i * 25 + 25),
  );
  await inParallel(batches, 8, async (batch) => {
    let pending: Record<string, unknown>[] | undefined = batch;
    while (pending && pending.length > 0) {
      const result: BatchWriteCommandOutput = await doc.send(
        new BatchWriteCommand({
          RequestItems: { [tableName]: pending.map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
      pending = result.UnprocessedItems?.[tableName]?.map((request) => request.PutRequest?.Item ?? {});
    }
  });
}

export async function benchResolve() {
  const dynamo = await startDynamoDbLocal({ port: await freePort() });
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  let queries = 0;
  client.middlewareStack.add(
    (next) => (args) => {
      queries++;
      return next(args);
    },
    { step: 'initialize' },
  );
  const doc = documentClient(client);
  const runs = SIZES.map((size) => ({
    size,
    samples: [] as number[],
    effective: 0,
    queries: 0,
    seedSeconds: 0,
    registry: undefined as unknown as DynamoHookRegistry,
  }));
  try {
    for (const run of runs) {
      const tableName = `bench-resolve-${run.size}`;
      await ensureTable(client, tableName);
      const start = performance.now();
      await seed(doc, tableName, [...targetHooks(), ...unrelatedHooks(run.size - targetHooks().length)]);
      run.seedSeconds = (performance.now() - start) / 1000;
      run.registry = new DynamoHookRegistry(doc, { tableName });
    }
    // Interleaved rounds: JVM warm-up and machine noise fall on every size alike.
    for (let round = 0; round < WARMUP + SAMPLES; round++) {
      for (const run of runs) {
        queries = 0;
        const start = performance.now();
        run.effective = (await resolveEffectiveHooks(run.registry, target)).length;
        const elapsed = performance.now() - start;
        if (round >= WARMUP) {
          run.samples.push(elapsed);
          run.queries += queries;
        }
      }
    }
  } finally {
    client.destroy();
    await dynamo.stop();
  }
  console.log(
    `\nresolve: ${SAMPLES} resolutions (studio + project + scene type) per registry size, interleaved`,
  );
  console.table(
    runs.map((run) => ({
      'hooks in registry': run.size,
      'effective hooks': run.effective,
      'queries / resolution': run.queries / SAMPLES,
      p50: ms(percentile(run.samples, 50)),
      p99: ms(percentile(run.samples, 99)),
      'seeded in': `${run.seedSeconds.toFixed(1)} s`,
    })),
  );
  const p50s = runs.map((run) => percentile(run.samples, 50));
  const ratio = (p50s.at(-1) as number) / (p50s[0] as number);
  const flat = ratio <= FLATNESS_LIMIT;
  console.log(
    `p50 at ${SIZES.at(-1)} hooks / p50 at ${SIZES[0]} hooks = ${ratio.toFixed(2)}x (target <= ${FLATNESS_LIMIT}x): ${flat ? 'flat' : 'NOT FLAT'}`,
  );
  return flat;
}
