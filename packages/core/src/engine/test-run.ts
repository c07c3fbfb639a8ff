import { monotonicFactory } from 'ulid';
import type { HookRunResult } from '../domain';
import {
  type ExecutionLog,
  type Hook,
  type HookInput,
  type StageEventDetail,
  sampleInputOf,
} from '../domain';
import type { ExecutionLogStore, HookRegistry, ScriptRunner, WebhookSender } from '../ports';
import { executionLogDraft, hookInputFor } from './log-draft';
import { engineError, outcomeOf } from './run-state';
import { stageContextOf } from './stage-context';

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
  const input = hookInputFor(
    stageContextOf(detail),
    { id: hook.id, name: hook.name, revision: hook.revision },
    invocationId,
    true,
  );
  let result: HookRunResult;
  if (hook.type === 'webhook') {
    const secret = await deps.registry.signingSecret(hook.id);
    result = secret
      ? await deps.webhooks.send(hook, input, secret)
      : engineError(new Date(), `webhook ${hook.name} has no signing secret`);
  } else {
    result = await deps.scripts.run(hook, input);
  }
  const draft = executionLogDraft(hook, input, result, {
    hookPoint: hook.hookPoint,
    executionId: null,
    outcome: outcomeOf(result.status, hook.failureMode),
  });
  const log = await deps.logs.append(draft, invocationId);
  return { log, result, input };
}
