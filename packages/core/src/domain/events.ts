/*
 * The names on the EventBridge bus: the contract with the pipeline and with whatever listens to
 * stagehooks. Every sender, rule and test takes them from here.
 */

/** The bus the pipeline puts stage events on and stagehooks puts its own on (locally `default` works too). */
export const stagehooksBusName = 'stagehooks';

/** The pipeline's "Stage Reached" event, which starts a stage. */
export const stageEventSource = 'studio.pipeline';
export const stageReachedDetailType = 'Stage Reached';

/** A PutEvents entry of a "Stage Reached" event with this detail, as the pipeline sends it. */
export function stageReachedEntry(detail: unknown, eventBusName: string = stagehooksBusName) {
  return {
    Source: stageEventSource,
    DetailType: stageReachedDetailType,
    EventBusName: eventBusName,
    Detail: JSON.stringify(detail),
  };
}

/**
 * stagehooks' own events: a stage's completion, with its verdict, the block that holds a stage for
 * review, and the end of the detached hooks that run after the verdict.
 */
export const stagehooksEventSource = 'stagehooks';
export const stageCompletedDetailType = 'Stage Hooks Completed';
export const stageBlockedDetailType = 'Stage Hooks Blocked';
/** After the verdict: the results of the stage's detached hooks, once they have all run. */
export const stageDetachedCompletedDetailType = 'Stage Hooks Detached Completed';
export const stagehooksDetailTypes = [
  stageCompletedDetailType,
  stageBlockedDetailType,
  stageDetachedCompletedDetailType,
] as const;
export type StagehooksDetailType = (typeof stagehooksDetailTypes)[number];
