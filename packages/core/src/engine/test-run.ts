import { decodeTime, isValid, monotonicFactory } from 'ulid';
import type { HookRunResult } from '../domain';
import {
  checkedOutput,
  type ExecutionLog,
  type Hook,
  type HookInput,
  isJsonObject,
  type ScriptTestJob,
  type StageEventDetail,
  sampleInputOf,
} from '../domain';
import type { ExecutionLogStore, HookRegistry, ScriptRunner, WebhookSender } from '../ports';
import { executionLogDraft, hookInputFor, type LoggedHook } from './log-draft';
import { conditionMatches, engineError, outcomeOf } from './run-state';
import { stageContextOf } from './stage-context';

const nextId = monotonicFactory();
const TEST_RUN_PREFIX = 'test.';

/**
 * How long a script's test run may wait in the queue for a free runner. Later, the runner logs it as an
 * `error` instead of running it: whoever asked has long stopped looking for it.
 */
export const TEST_RUN_START_WITHIN_MS = 10 * 60_000;

/** A test run's invocation id, which is also its log's id: `test.<ulid>`, so it tells when it was issued. */
export const newTestRunId = () => `${TEST_RUN_PREFIX}${nextId()}`;

/** When a test run's id was issued; undefined for an id that is not a test run's. */
export function testRunIssuedAt(id: string): Date | undefined {
  const ulid = id.slice(TEST_RUN_PREFIX.length);
  return id.startsWith(TEST_RUN_PREFIX) && isValid(ulid) ? new Date(decodeTime(ulid)) : undefined;
}

/** What a test run may be given: stage fields instead of the sample's, and earlier hooks' `outputs`. */
export type TestRunGiven = Partial<StageEventDetail> & {
  outputs?: HookInput['outputs'];
  verdict?: HookInput['verdict'];
};

/**
 * What a test run gives its hook, as the "test hook" button does: the point's sample input with the
 * given fields instead, marked `test: true`; `outputs` as if earlier hooks of the stage had handed them on.
 */
export function testInputOf(hook: Hook, given: TestRunGiven, invocationId: string): HookInput {
  const { outputs = {}, verdict = 'passed', ...fields } = given;
  const sample = sampleInputOf(hook.hookPoint);
  const detail = { ...sample, ...fields, hookPoint: hook.hookPoint };
  return hookInputFor(
    stageContextOf(detail),
    { id: hook.id, name: hook.name, revision: hook.revision },
    invocationId,
    true,
    outputs,
    verdict,
  );
}

/** Whether a test run's input matches its hook's `when`, which a stage would check before running it. */
export interface TestCondition {
  when: Record<string, unknown>;
  /** Null only when read back from a log whose input was cut at the capture limit. */
  matched: boolean | null;
}

/**
 * The hook's condition against `input` (a hook input, or a log's copy of one), the way a stage matches
 * it; null when the hook has no `when`. A test run runs the hook whether it matches or not: it reports.
 */
export function testConditionOf(hook: Pick<Hook, 'when'>, input: unknown): TestCondition | null {
  if (hook.when === undefined) return null;
  return { when: hook.when, matched: isJsonObject(input) ? conditionMatches(hook.when, input) : null };
}

/** Logs a test run under its invocation id: no stage, no claim, no review, no verdict event. */
function recordTestRun(
  logs: ExecutionLogStore,
  hook: LoggedHook,
  input: HookInput,
  result: HookRunResult,
): Promise<ExecutionLog> {
  const draft = executionLogDraft(hook, input, result, {
    hookPoint: input.hookPoint,
    executionId: null,
    outcome: outcomeOf(result.status, hook.failureMode),
  });
  return logs.append(draft, input.invocationId);
}

export interface WebhookTestDeps {
  registry: Pick<HookRegistry, 'signingSecret'>;
  logs: ExecutionLogStore;
  webhooks: WebhookSender;
}

/**
 * A webhook's test run, sent by the caller with the same sender a stage uses, its data and patch checked
 * as a stage checks them (`outputSchema` too), and logged.
 */
export async function runWebhookTest(
  deps: WebhookTestDeps,
  hook: Extract<Hook, { type: 'webhook' }>,
  input: HookInput,
): Promise<ExecutionLog> {
  const secret = await deps.registry.signingSecret(hook.id);
  const result = secret
    ? checkedOutput(await deps.webhooks.send(hook, input, secret), hook.outputSchema)
    : engineError(new Date(), `webhook ${hook.name} has no signing secret`);
  return recordTestRun(deps.logs, hook, input, result);
}

export interface ScriptTestDeps {
  registry: Pick<HookRegistry, 'get'>;
  logs: ExecutionLogStore;
  scripts: ScriptRunner;
}

/**
 * The script runner's side of a script hook's test run (a ScriptTestJob from the admin API): runs the
 * hook as the registry holds it, checks its data and patch as a stage does, and logs it, where the API
 * waits for it. Nothing reaches the pipeline.
 */
export class ScriptTests {
  constructor(private readonly deps: ScriptTestDeps) {}

  /** Runs the job once: a job delivered again after its log was written returns that log. */
  async run(job: ScriptTestJob): Promise<ExecutionLog> {
    const logged = await this.deps.logs.get(job.input.invocationId);
    if (logged) return logged;
    const hook = await this.deps.registry.get(job.hook.id);
    const waitedMs = Date.now() - (testRunIssuedAt(job.input.invocationId)?.getTime() ?? Date.now());
    // Only what the API authorized runs: a queued job cannot name another script than the stored one.
    let result: HookRunResult;
    if (waitedMs > TEST_RUN_START_WITHIN_MS) {
      result = engineError(
        new Date(),
        `the test waited ${Math.round(waitedMs / 1000)} s for a free script runner: test it again`,
      );
    } else if (!hook)
      result = engineError(new Date(), `hook ${job.hook.name} was deleted before its test ran`);
    else if (hook.revision !== job.hook.revision || hook.type === 'webhook') {
      result = engineError(
        new Date(),
        `hook ${job.hook.name} changed (now revision ${hook.revision}) before its test ran: test it again`,
      );
    } else result = checkedOutput(await this.deps.scripts.run(hook, job.input), hook.outputSchema);
    return recordTestRun(this.deps.logs, job.hook, job.input, result);
  }

  /** Logs a run that could not finish (the runner stopped, or failed) as `error`; a log already written stands. */
  fail(job: ScriptTestJob, reason: string): Promise<ExecutionLog> {
    return recordTestRun(this.deps.logs, job.hook, job.input, engineError(new Date(), reason));
  }
}
