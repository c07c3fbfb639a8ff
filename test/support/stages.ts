import { initialRun, type PlannedHook, type RunState, type Stage } from '@stagehooks/core/engine';

/** A claimed post_segment stage of `jobId` at project p1, as ValidateAndClaim hands it on. */
export const stageOf = (jobId: string): Stage => ({
  eventId: `evt-${jobId}`,
  hookPoint: 'post_segment',
  jobId,
  projectId: 'p1',
  sceneTypeId: null,
  segmentPath: null,
  metadata: {},
  sceneContext: {},
});

/** The ARN of an execution of the stage machine named `name`: its log ids start with that name. */
export const executionArn = (name: string) =>
  `arn:aws:states:us-east-1:000000000000:execution:stagehooks-stage:${name}`;

/** An inline project-p1 webhook hook of the plan, warn on failure unless `extra` says otherwise. */
export const plannedHook = (name: string, extra: Partial<PlannedHook> = {}): PlannedHook => ({
  id: `id-${name}`,
  name,
  type: 'webhook',
  revision: 1,
  failureMode: 'warn',
  isolation: null,
  source: { scopeType: 'project', scopeId: 'p1' },
  mode: 'inline',
  when: null,
  ...extra,
});

/** A fresh run planned for `hooks`, the first of them current (no conditions checked). */
export const runOf = (...hooks: PlannedHook[]): RunState => ({
  ...initialRun(),
  plan: { hooks, count: hooks.length },
  current: hooks[0] ?? null,
});
