import { monotonicFactory } from 'ulid';
import {
  type ExecutionLog,
  type Hook,
  type HookInput,
  type StageEventDetail,
  sampleInputOf,
} from '../domain';
import type { HookRunResult, ScriptRunner, WebhookSender } from '../executors';
import type { ExecutionLogStore } from '../logs';
import type { HookRegistry } from '../registry';
import { engineError, failureMessage, outcomeOf } from './stage-tasks';

export interface TestRunDeps {
  registry: Pick<HookRegistry, 'signingSecret'>;
  logs: ExecutionLogStore;
  webhooks: WebhookSender;
  scripts: ScriptRunner;
  newId?: () => string;
}

export interface TestRun {
  log: ExecutionLog;
  result: HookRunResult;
  input: HookInput;
}

const nextId = monotonicFactory();

/**
 * Runs one hook once, as the "test hook" button does: through the same executors as a stage, with the
 * point's sample input unless one is given, logged with `test: true`. Nothing reaches the pipeline: no
 * claim, no review, no verdict event.
 */
export async function runHookTest(
  deps: TestRunDeps,
  hook: Hook,
  given: Partial<StageEventDetail> = {},
): Promise<TestRun> {
  const sample = sampleInputOf(hook.hookPoint);
  const detail = { ...sample, ...given, hookPoint: hook.hookPoint };
  const invocationId = `test.${(deps.newId ?? nextId)()}`;
  const input: HookInput = {
    invocationId,
    hookPoint: hook.hookPoint,
    jobId: detail.jobId,
    projectId: detail.projectId,
    sceneTypeId: detail.sceneTypeId ?? null,
    segmentPath: detail.segmentPath ?? null,
    metadata: detail.metadata,
    sceneContext: detail.sceneContext,
    hook: { id: hook.id, name: hook.name, revision: hook.revision },
    attempt: 1,
    test: true,
  };
  let result: HookRunResult;
  if (hook.type === 'webhook') {
    const secret = await deps.registry.signingSecret(hook.id);
    result = secret
      ? await deps.webhooks.send(hook, input, secret)
      : engineError(new Date(), `webhook ${hook.name} has no signing secret`);
  } else {
    result = await deps.scripts.run(hook, input);
  }
  const log = await deps.logs.append(
    {
      hookId: hook.id,
      hookName: hook.name,
      hookRevision: hook.revision,
      hookType: hook.type,
      hookPoint: hook.hookPoint,
      jobId: input.jobId,
      executionId: null,
      invocationId,
      input,
      stdout: result.stdout,
      stderr: result.stderr,
      responseStatus: result.responseStatus,
      responseBody: result.responseBody,
      exitCode: result.exitCode,
      status: result.status,
      errorMessage: failureMessage(result),
      failureMode: hook.failureMode,
      outcome: outcomeOf(result.status, hook.failureMode),
      durationMs: result.durationMs,
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
      test: true,
      truncated: result.truncated,
    },
    invocationId,
  );
  return { log, result, input };
}
