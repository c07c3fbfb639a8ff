import type { Stage } from '@stagehooks/core/engine';

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
