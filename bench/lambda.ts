/**
 * One bundle for every engine Lambda (B: dist/lambda/engine.mjs, handler `engine.stage.<export>`) beside
 * one bundle per Lambda-backed Task state (A: the nine four-line entry files the engine had, generated
 * here from the table of Task states), built with the options of packages/functions/build.mjs:
 * - each bundle's size;
 * - cold starts: a fresh `node` process with a Lambda's environment imports the bundle and invokes
 *   ValidateAndClaim once against DynamoDB Local (a real claim: a conditional write). Runs alternate
 *   A B B A, after one unmeasured run of each; min and median of module init, first invocation and
 *   the whole (from the process's start to the first answer).
 * Node is this machine's (Lambda runs 22); STAGEHOOKS_BENCH_LAMBDA_RUNS sets the runs of each (20).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureTable } from '@stagehooks/core/dynamodb';
import { lambdaFunctions, stateNames } from '@stagehooks/core/engine';
import { startDynamoDbLocal } from '@stagehooks/local/dynamodb-local';
import { localDynamoClient } from '@stagehooks/local/stack';
import { bundle, entryPoints } from '../packages/functions/build.mjs';
import { freePort } from '../test/support/free-port';
import { ms, percentile } from './stats';

const RUNS = Number(process.env.STAGEHOOKS_BENCH_LAMBDA_RUNS ?? 20);
/** B may be this much larger or slower than A (the bound). */
const ALLOWED = 1.1;
const TABLE = 'stagehooks-bench';

const engineEntry = fileURLToPath(
  new URL('../packages/functions/src/engine/lambda-entry.ts', import.meta.url),
);
const stageReached = new URL('../test/events/stage-reached.json', import.meta.url);

/** `ValidateAndClaim` -> `validate-and-claim`, the entry files' names. */
const fileNameOf = (state: string) => state.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

/** What runs in the fresh process: import, invoke once, print the timings (ms since the process started). */
const coldStartScript = `
const began = performance.now();
const module = await import(process.argv[2]);
const imported = performance.now();
const handler = process.argv[3].split('.').reduce((value, key) => value[key], module);
const context = {
  functionName: 'ValidateAndClaim', awsRequestId: 'bench', callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 30000,
};
const output = await handler(JSON.parse(process.env.BENCH_TASK_INPUT), context);
const answered = performance.now();
if (output.claim.outcome !== 'claimed') throw new Error('not claimed: ' + JSON.stringify(output.claim));
console.log(JSON.stringify({ start: began, init: imported - began, invoke: answered - imported, total: answered }));
process.exit(0);
`;

type Variant = 'A' | 'B';
interface ColdStart {
  /** From the process's start to the bundle's first line. */
  start: number;
  init: number;
  invoke: number;
  total: number;
}

async function buildVariants(dir: string) {
  const entries = join(dir, 'entries');
  await mkdir(entries);
  const perState: Record<string, string> = {};
  for (const fn of lambdaFunctions) {
    const file = join(entries, `${fileNameOf(fn.state)}.ts`);
    await writeFile(
      file,
      `import { stage } from ${JSON.stringify(engineEntry)};\nexport const handler = stage.${fn.handlerExport};\n`,
    );
    perState[`lambda/${fileNameOf(fn.state)}`] = file;
  }
  const a = await bundle(perState, join(dir, 'a'));
  const b = await bundle({ 'lambda/engine': entryPoints['lambda/engine']! }, join(dir, 'b'));
  const claim = lambdaFunctions.find((fn) => fn.state === stateNames.validateAndClaim)!;
  return {
    sizes: { A: a, B: b },
    targets: {
      A: { file: join(dir, 'a', `lambda/${fileNameOf(claim.state)}.mjs`), handler: 'handler' },
      B: { file: join(dir, 'b', 'lambda/engine.mjs'), handler: `stage.${claim.handlerExport}` },
    } satisfies Record<Variant, { file: string; handler: string }>,
  };
}

export async function benchLambda(): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'stagehooks-bench-lambda-'));
  const dynamo = await startDynamoDbLocal({ port: await freePort() });
  try {
    const client = localDynamoClient(dynamo.endpoint);
    await ensureTable(client, TABLE);
    client.destroy();
    const { sizes, targets } = await buildVariants(dir);
    const script = join(dir, 'cold-start.mjs');
    await writeFile(script, coldStartScript);
    const event: Record<string, unknown> = JSON.parse(await readFile(stageReached, 'utf8'));

    const coldStart = async (variant: Variant): Promise<ColdStart> => {
      const input = {
        event: { ...event, id: randomUUID() },
        executionId: `arn:aws:states:us-east-1:000000000000:execution:stagehooks-stage:${randomUUID()}`,
      };
      const { file, handler } = targets[variant];
      const { stdout } = await promisify(execFile)(process.execPath, [script, file, handler], {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'stagehooks',
          AWS_SECRET_ACCESS_KEY: 'stagehooks',
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
          AWS_LAMBDA_FUNCTION_NAME: 'stagehooks-ValidateAndClaim',
          AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          STAGEHOOKS_TABLE: TABLE,
          BENCH_TASK_INPUT: JSON.stringify(input),
        },
      });
      return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    };

    await coldStart('A');
    await coldStart('B');
    const runs: Record<Variant, ColdStart[]> = { A: [], B: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const variant of i % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
        runs[variant].push(await coldStart(variant));
      }
    }

    const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
    const perStateSizes = Object.values(sizes.A);
    const claimSize = sizes.A[`lambda/${fileNameOf(stateNames.validateAndClaim)}.mjs`] ?? Number.NaN;
    const engineSize = sizes.B['lambda/engine.mjs'] ?? Number.NaN;
    const total = perStateSizes.reduce((sum, size) => sum + size, 0);
    console.log('\nlambda: one bundle per engine Lambda (A) beside one bundle for all of them (B)');
    console.log(
      `  bundle size  A: ${perStateSizes.length} bundles, ${kib(Math.min(...perStateSizes))} to ${kib(Math.max(...perStateSizes))} (ValidateAndClaim ${claimSize} bytes; ${kib(total)} in all)`,
    );
    console.log(`               B: 1 bundle, ${kib(engineSize)} (${engineSize} bytes)`);
    console.log(
      `  cold start of ValidateAndClaim against DynamoDB Local, ${RUNS} runs each, node ${process.version}, min / median:`,
    );
    const figure = (variant: Variant, field: keyof ColdStart) => {
      const values = runs[variant].map((run) => run[field]);
      return { min: Math.min(...values), median: percentile(values, 50) };
    };
    const both = (variant: Variant, field: keyof ColdStart) => {
      const { min, median } = figure(variant, field);
      return `${ms(min)} / ${ms(median)}`;
    };
    for (const variant of ['A', 'B'] as const) {
      console.log(
        `  ${variant}: module init ${both(variant, 'init')} | first invocation ${both(variant, 'invoke')} | process start to answer ${both(variant, 'total')} (node itself ${both(variant, 'start')})`,
      );
    }
    const slower = figure('B', 'total').median / figure('A', 'total').median;
    const larger = engineSize / claimSize;
    const met = slower <= ALLOWED && larger <= ALLOWED;
    console.log(
      `  B against A: cold start (median) x${slower.toFixed(3)}, size x${larger.toFixed(3)}; bound x${ALLOWED}: ${met ? 'PASS' : 'MISS'}`,
    );
    return met;
  } finally {
    await dynamo.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
