import { type DefinitionPlaceholder, stateNames, type TaskStateName } from '@stagehooks/core/engine';

/**
 * The Lambda-backed Task states and their entry points: `src/lambda/<entry>.ts`, bundled to
 * `dist/lambda/<entry>.mjs` (handler `<entry>.handler`), its ARN filling `<placeholder>` in the definition.
 * Importing this module builds nothing (the entry points do, through `deps.ts`).
 */
export const lambdaEntries = [
  {
    placeholder: 'ValidateAndClaimFunctionArn',
    state: stateNames.validateAndClaim,
    entry: 'validate-and-claim',
  },
  {
    placeholder: 'ResolveEffectiveHooksFunctionArn',
    state: stateNames.resolveEffectiveHooks,
    entry: 'resolve-effective-hooks',
  },
  { placeholder: 'RunWebhookFunctionArn', state: stateNames.runWebhook, entry: 'run-webhook' },
  { placeholder: 'RecordExecutionFunctionArn', state: stateNames.recordExecution, entry: 'record-execution' },
  {
    placeholder: 'WriteExecutionLogsFunctionArn',
    state: stateNames.writeExecutionLogs,
    entry: 'write-execution-logs',
  },
  { placeholder: 'FlagForReviewFunctionArn', state: stateNames.flagForReview, entry: 'flag-for-review' },
  { placeholder: 'AwaitReviewFunctionArn', state: stateNames.awaitReview, entry: 'await-review' },
  {
    placeholder: 'ApplyReviewDecisionFunctionArn',
    state: stateNames.applyReviewDecision,
    entry: 'apply-review-decision',
  },
  {
    placeholder: 'SkipRemainingHooksFunctionArn',
    state: stateNames.skipRemainingHooks,
    entry: 'skip-remaining-hooks',
  },
] as const satisfies ReadonlyArray<{
  placeholder: DefinitionPlaceholder;
  state: TaskStateName;
  entry: string;
}>;

export type LambdaEntry = (typeof lambdaEntries)[number];

/** The container image's entry, relative to dist/ (script-runner.Dockerfile copies it). */
export const scriptRunnerBundle = 'script-runner.mjs';
