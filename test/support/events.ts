import { readFileSync } from 'node:fs';
import { EventBridgeEvent } from '@stagehooks/core/domain';

/**
 * The pipeline's "Stage Reached" event as EventBridge delivers it: the one fixture of it
 * (test/events/stage-reached.json), checked to be a whole EventBridge event, a fresh copy each call.
 */
export const stageReachedEvent = (): EventBridgeEvent =>
  EventBridgeEvent.parse(
    JSON.parse(readFileSync(new URL('../events/stage-reached.json', import.meta.url), 'utf8')),
  );
