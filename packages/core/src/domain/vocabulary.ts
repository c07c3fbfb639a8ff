import { z } from 'zod';

export const hookPoints = [
  'post_variant',
  'pre_segment',
  'post_segment',
  'pre_concatenation',
  'post_delivery',
] as const;
export const HookPoint = z.enum(hookPoints);
export type HookPoint = z.infer<typeof HookPoint>;

export const hookTypes = ['webhook', 'shell', 'python'] as const;
export const HookType = z.enum(hookTypes);
export type HookType = z.infer<typeof HookType>;

/** Broadest first: the order in which inheritance applies. */
export const scopeTypes = ['studio', 'project', 'scene_type'] as const;
export const ScopeType = z.enum(scopeTypes);
export type ScopeType = z.infer<typeof ScopeType>;

export const failureModes = ['block', 'warn', 'ignore'] as const;
export const FailureMode = z.enum(failureModes);
export type FailureMode = z.infer<typeof FailureMode>;

export const executionStatuses = ['passed', 'failed', 'timed_out', 'error', 'skipped'] as const;
export const ExecutionStatus = z.enum(executionStatuses);
export type ExecutionStatus = z.infer<typeof ExecutionStatus>;

export const outcomes = ['continued', 'warned', 'blocked', 'ignored'] as const;
export const Outcome = z.enum(outcomes);
export type Outcome = z.infer<typeof Outcome>;

export const stageVerdicts = ['passed', 'warned', 'blocked'] as const;
export const StageVerdict = z.enum(stageVerdicts);
export type StageVerdict = z.infer<typeof StageVerdict>;

/** Ids from the pipeline (projects, scene types, jobs); `#` is excluded because it separates key segments. */
const ExternalId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 letters, digits, "_", ".", ":" or "-"');
export const ScopeId = ExternalId;
export const JobId = ExternalId;

export const HookName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,63}$/,
    'must match ^[a-z0-9][a-z0-9_-]{0,63}$ (lower case, digits, "_" or "-")',
  );

export const Timestamp = z.iso.datetime({ offset: true });

/**
 * The scope a record names (a planned hook's source, what an effective hook overrides): the shape every
 * such field has.
 */
export const ScopeRef = z.object({ scopeType: ScopeType, scopeId: z.string().nullable() });
export type ScopeRef = z.output<typeof ScopeRef>;

/** A scope in the inheritance chain, as the registry is asked about it: the id is there exactly when the type needs one. */
export const Scope = z.discriminatedUnion('scopeType', [
  z.strictObject({ scopeType: z.literal('studio'), scopeId: z.null() }),
  z.strictObject({ scopeType: z.literal('project'), scopeId: ScopeId }),
  z.strictObject({ scopeType: z.literal('scene_type'), scopeId: ScopeId }),
]);
export type Scope = z.infer<typeof Scope>;
