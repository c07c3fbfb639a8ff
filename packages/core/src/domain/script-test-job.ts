import { z } from 'zod';
import { HookInput } from './stage-event';
import { FailureMode } from './vocabulary';

/**
 * A script hook's test run as the admin API hands it to the script runner. Unlike a stage's job it has
 * no task token: nobody waits on Step Functions for it. The runner runs the hook as the registry holds
 * it (only at this revision) and logs it with `test: true` under the input's invocation id, where the
 * API reads the result.
 */
export const ScriptTestJob = z.strictObject({
  /** The hook as the API authorized the run; its type and failure mode name the log if it cannot run. */
  hook: z.strictObject({
    id: z.string().min(1),
    name: z.string().min(1),
    revision: z.int().min(1),
    type: z.enum(['shell', 'python']),
    failureMode: FailureMode,
  }),
  input: HookInput.extend({ test: z.literal(true) }),
});
export type ScriptTestJob = z.output<typeof ScriptTestJob>;

/** How a ScriptTestJob travels on the pool runner's queue, beside the stages' `{ taskToken, job }`. */
export const ScriptTestMessage = z.strictObject({ testRun: ScriptTestJob });
export type ScriptTestMessage = z.output<typeof ScriptTestMessage>;
