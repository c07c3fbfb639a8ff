import type {
  ExecutionLogDraft,
  FailureMode,
  HookInput,
  HookPoint,
  HookRunResult,
  HookType,
  Outcome,
  StagePatch,
} from '../domain';
import { isJsonObject } from '../domain';

/** The hook an execution ran, as its log names it. */
export interface LoggedHook {
  id: string;
  name: string;
  type: HookType;
  failureMode: FailureMode;
}

/** What went wrong, in one line: the runner's own words, else the hook's message, else the bare facts. */
export function failureMessage(result: HookRunResult): string | null {
  if (result.errorMessage) return result.errorMessage;
  if (result.status === 'passed') return null;
  if (result.message) return result.message;
  if (result.exitCode !== null) return `exited with code ${result.exitCode}`;
  if (result.responseStatus !== null) return `answered HTTP ${result.responseStatus}`;
  return result.status;
}

/**
 * The stage context a hook receives, as a hook input (the same for stages, test runs and baselines):
 * `segmentPath` and `metadata` as earlier hooks patched them, and their `outputs`.
 */
export function hookInputFor(
  context: Pick<
    HookInput,
    'hookPoint' | 'jobId' | 'projectId' | 'sceneTypeId' | 'segmentPath' | 'metadata' | 'sceneContext'
  >,
  hook: HookInput['hook'],
  invocationId: string,
  test: boolean,
  outputs: HookInput['outputs'] = {},
  verdict: HookInput['verdict'] = 'passed',
): HookInput {
  return {
    invocationId,
    hookPoint: context.hookPoint,
    jobId: context.jobId,
    projectId: context.projectId,
    sceneTypeId: context.sceneTypeId,
    segmentPath: context.segmentPath,
    metadata: context.metadata,
    sceneContext: context.sceneContext,
    hook,
    attempt: 1,
    test,
    outputs,
    verdict,
  };
}

/** One execution's log draft from what ran and what came of it. */
export function executionLogDraft(
  hook: LoggedHook,
  input: HookInput,
  result: HookRunResult,
  options: {
    hookPoint: HookPoint;
    executionId: string | null;
    outcome: Outcome;
    status?: ExecutionLogDraft['status'];
  },
): ExecutionLogDraft {
  return {
    hookId: hook.id,
    hookName: hook.name,
    hookRevision: input.hook.revision,
    hookType: hook.type,
    hookPoint: options.hookPoint,
    jobId: input.jobId,
    executionId: options.executionId,
    invocationId: input.invocationId,
    input,
    stdout: result.stdout,
    stderr: result.stderr,
    responseStatus: result.responseStatus,
    responseBody: result.responseBody,
    exitCode: result.exitCode,
    status: options.status ?? result.status,
    errorMessage: failureMessage(result),
    failureMode: hook.failureMode,
    outcome: options.outcome,
    outputData: isJsonObject(result.data) ? result.data : null,
    // Only a passed hook's patch is applied (its result's patch was checked: `checkedOutput`).
    patch: result.status === 'passed' && result.patch !== undefined ? (result.patch as StagePatch) : null,
    durationMs: result.durationMs,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    test: input.test,
    truncated: result.truncated,
  };
}
