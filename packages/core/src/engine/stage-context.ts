import type { StageEventDetail } from '../domain';
import type { Stage } from './contracts';

/** What a hook input is built from: the stage without its event id (a test run has no event). */
export type StageContext = Omit<Stage, 'eventId'>;

/**
 * The stage a "Stage Reached" detail describes, as hooks receive it: what the event leaves out is null.
 * The one place a stage is built from an event: ValidateAndClaim, the test run and the benchmark's
 * baseline all build theirs here.
 */
export function stageContextOf(detail: StageEventDetail): StageContext {
  const { sceneTypeId, segmentPath, ...rest } = detail;
  return { ...rest, sceneTypeId: sceneTypeId ?? null, segmentPath: segmentPath ?? null };
}
