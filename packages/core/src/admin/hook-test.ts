import { setTimeout as sleep } from 'node:timers/promises';
import { type ExecutionLog, type Hook, type HookInput, webhookBody } from '../domain';
import {
  newTestRunId,
  runWebhookTest,
  TEST_RUN_START_WITHIN_MS,
  type TestCondition,
  type TestRunGiven,
  testConditionOf,
  testInputOf,
  testRunIssuedAt,
  type WebhookTestDeps,
} from '../engine';
import type { ExecutionLogStore, ScriptTestQueue } from '../ports';

export interface HookTestDeps extends WebhookTestDeps {
  scriptTests: ScriptTestQueue;
}

/**
 * A test run ended (its log is written), or still runs: its log appears under `logId` when it ends.
 * `input` is what the hook got: whole from the run itself, as logged (maybe cut) when read later.
 * `condition` says whether that input matches the hook's `when` (null without one); a running run read
 * later has no input to match, so no condition. `requestBody`: the body a webhook's test sent (its
 * first attempt's; a retry's differs only where its bodyTemplate holds `{{attempt}}`), from the run itself.
 */
export type HookTestRun =
  | {
      status: 'finished';
      log: ExecutionLog;
      input: unknown;
      condition: TestCondition | null;
      requestBody?: string;
    }
  | { status: 'running'; logId: string; input?: HookInput; condition?: TestCondition | null };

/** How soon the API first looks for a script test's log, and how far apart its looks grow. */
const FIRST_LOOK_MS = 50;
const MAX_LOOK_EVERY_MS = 1_000;
/** After a run's last possible end: time to kill its process group and write its log. */
const LOG_MARGIN_MS = 60_000;

/** The log of `id` once it is written, or undefined at `until` (epoch ms): a few reads, further apart. */
async function logWrittenBy(logs: ExecutionLogStore, id: string, until: number) {
  for (let every = FIRST_LOOK_MS; ; every = Math.min(every * 2, MAX_LOOK_EVERY_MS)) {
    const log = await logs.get(id);
    const left = until - Date.now();
    if (log || left <= 0) return log;
    await sleep(Math.min(every, left));
  }
}

/**
 * Runs a hook once, as the "test hook" button does: the point's sample input (or the given fields and
 * outputs), the executors a stage uses, logged with `test: true`; nothing reaches the pipeline. It runs
 * even when the input does not match the hook's `when` (a stage would skip it): `condition` says whether
 * it matched, so one test shows both what the hook does and whether a stage would run it. A webhook is sent
 * from here. A script goes to the script runner (no python, no sandbox here), and this waits up to
 * `waitMs` for its log: a longer run answers `running`, and its log appears under its id when it ends.
 */
export async function testHook(
  deps: HookTestDeps,
  hook: Hook,
  given: TestRunGiven,
  options: { waitMs: number },
): Promise<HookTestRun> {
  const until = Date.now() + options.waitMs;
  const input = testInputOf(hook, given, newTestRunId());
  const condition = testConditionOf(hook, input);
  if (hook.type === 'webhook') {
    const log = await runWebhookTest(deps, hook, input);
    return {
      status: 'finished',
      log,
      input,
      condition,
      requestBody: webhookBody(hook.config.bodyTemplate, input),
    };
  }
  const { id, name, revision, type, failureMode } = hook;
  await deps.scriptTests.submit({
    hook: { id, name, revision, type, failureMode },
    input: { ...input, test: true },
  });
  const log = await logWrittenBy(deps.logs, input.invocationId, until);
  return log
    ? { status: 'finished', log, input, condition }
    : { status: 'running', logId: input.invocationId, input, condition };
}

/**
 * A test run of `hook` read later, by its id: finished once logged, its condition matched again against
 * the logged input with the hook's `when` as it is now; running while it may still be (it can wait in the
 * queue, then run to its timeout); undefined when there is no such run of this hook (never issued, lost
 * with its runner, or its log expired).
 */
export async function testRunOf(
  deps: { logs: Pick<ExecutionLogStore, 'get'> },
  hook: Hook,
  runId: string,
  now = new Date(),
): Promise<HookTestRun | undefined> {
  const issuedAt = testRunIssuedAt(runId);
  if (!issuedAt) return undefined;
  const log = await deps.logs.get(runId);
  if (log)
    return log.test && log.hookId === hook.id
      ? { status: 'finished', log, input: log.input, condition: testConditionOf(hook, log.input) }
      : undefined;
  const lastEnd =
    issuedAt.getTime() + TEST_RUN_START_WITHIN_MS + hook.config.timeoutSeconds * 1000 + LOG_MARGIN_MS;
  return now.getTime() < lastEnd ? { status: 'running', logId: runId } : undefined;
}
