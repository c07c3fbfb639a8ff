/**
 * The script-runner container's entry point (bundled to dist/script-runner.mjs, run by
 * script-runner.Dockerfile). Two modes, by environment:
 *
 * - task: started by `ecs:runTask.waitForTaskToken` with STAGEHOOKS_TASK_TOKEN and STAGEHOOKS_JOB;
 *   runs that one job, reports it, exits.
 * - pool: a warm ECS service; takes jobs from STAGEHOOKS_SCRIPT_QUEUE_URL until SIGTERM: the stages'
 *   RunScriptInPool jobs, and the admin API's test runs of script hooks.
 *
 * Scripts run with ProcessScriptRunner in `sandbox: 'none'` (Fargate has no user namespaces for
 * bubblewrap): the Fargate task is the isolation boundary. The runner runs as root so that it can start
 * each script as STAGEHOOKS_SCRIPT_UID/GID (default 65534): as another uid, a script can neither read
 * /proc/<runner pid>/environ (the container-credentials URI, the task token) nor signal or ptrace the runner.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoExecutionLogStore, DynamoHookRegistry, documentClient } from '@stagehooks/core/dynamodb';
import { ScriptTests } from '@stagehooks/core/engine';
import { ProcessScriptRunner } from '@stagehooks/core/executors/script';
import { z } from 'zod';
import { S3ScriptStore, SqsScriptJobQueue, StepFunctionsTaskReporter } from '../aws';
import { loadScriptRunnerConfig, type ScriptRunnerConfig } from '../config';
import { createAwsStageTasks } from '../engine';
import { errorFields, jsonLogger } from '../log';
import { graceAfter, runnerErrors, type ScriptJobDeps } from './job';
import { ScriptJobPool } from './pool';
import { runTaskJob } from './task-mode';

const log = jsonLogger('stagehooks-script-runner');

/** Reporting is all the waiting execution gets: retry it harder than the SDK's default 3 attempts. */
const REPORT_ATTEMPTS = 6;

/**
 * A task-mode container with a bad environment still has a token: fail the task now rather than
 * let the execution wait for RunScriptInTask's timeout.
 */
async function reportMisconfiguration(error: unknown): Promise<void> {
  const token = z.string().min(1).safeParse(process.env.STAGEHOOKS_TASK_TOKEN);
  if (!token.success) return;
  const reporter = new StepFunctionsTaskReporter(new SFNClient({ maxAttempts: REPORT_ATTEMPTS }));
  const cause = error instanceof Error ? error.message : String(error);
  await reporter
    .fail(token.data, { error: runnerErrors.misconfigured, cause })
    .catch((reportError: unknown) =>
      log.error('could not report the misconfiguration', errorFields(reportError)),
    );
}

async function run(config: ScriptRunnerConfig, stop: AbortSignal): Promise<number> {
  const region = config.region;
  const scripts = new ProcessScriptRunner({
    sandbox: 'none',
    runAs: config.scriptUser,
    // A pool runs several scripts at once: each with a uid of its own (the configured one and below).
    runAsUsers: config.runner.mode === 'pool' ? config.runner.concurrency : 1,
    // The container's script uids run nothing else: what a script leaves behind goes before the next.
    clearUsers: true,
    ...(config.scriptBucket !== null && {
      scriptStore: new S3ScriptStore(new S3Client({ region }), { bucket: config.scriptBucket }),
    }),
  });
  if (scripts.sandbox.warning) log.warn(scripts.sandbox.warning);
  const dynamodb = new DynamoDBClient({ region });
  const tasks = createAwsStageTasks({ config, dynamodb, scripts });
  const deps: ScriptJobDeps = {
    tasks,
    reporter: new StepFunctionsTaskReporter(new SFNClient({ region, maxAttempts: REPORT_ATTEMPTS })),
    log,
  };
  const interrupt = graceAfter(stop, config.stopGraceMs);

  if (config.runner.mode === 'task') {
    log.info('script runner started', { mode: 'task' });
    return runTaskJob(config.runner, deps, interrupt);
  }
  const { queueUrl, concurrency } = config.runner;
  const doc = documentClient(dynamodb);
  const { tableName, logRetentionDays: retentionDays } = config;
  const pool = new ScriptJobPool({
    queue: new SqsScriptJobQueue(new SQSClient({ region }), queueUrl),
    jobs: deps,
    tests: new ScriptTests({
      registry: new DynamoHookRegistry(doc, { tableName }),
      logs: new DynamoExecutionLogStore(doc, { tableName, retentionDays }),
      scripts,
    }),
    concurrency,
    stopGraceMs: config.stopGraceMs,
  });
  stop.addEventListener('abort', () => {
    log.info('stopping: no new jobs; running ones finish or are reported interrupted', {
      inFlight: pool.inFlight,
      graceMs: config.stopGraceMs,
    });
    void pool.stop();
  });
  log.info('script runner started', { mode: 'pool', concurrency });
  await pool.run();
  log.info('script runner stopped');
  return 0;
}

async function main(): Promise<number> {
  let config: ScriptRunnerConfig;
  try {
    config = loadScriptRunnerConfig();
  } catch (error) {
    log.error('the script runner is misconfigured', errorFields(error));
    await reportMisconfiguration(error);
    return 1;
  }
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort());
  return run(config, stop.signal);
}

// Exit explicitly: a script abandoned at shutdown may still hold the event loop.
process.exit(await main());
