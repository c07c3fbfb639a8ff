import { z } from 'zod';
import { JsonObject } from './json';
import { Timestamp } from './vocabulary';

/** The EventBridge envelope around a pipeline event; `detail` is checked on its own. */
export const EventEnvelope = z.object({
  id: z.string().min(1).max(256),
  source: z.string().min(1),
  'detail-type': z.string().min(1),
  time: Timestamp.optional(),
  detail: z.unknown(),
});
export type EventEnvelope = z.output<typeof EventEnvelope>;

/** An event as EventBridge delivers it to targets: the envelope with every field EventBridge sets. */
export const EventBridgeEvent = EventEnvelope.extend({
  version: z.literal('0'),
  account: z.string(),
  time: Timestamp,
  region: z.string(),
  resources: z.array(z.string()),
  detail: JsonObject,
});
export type EventBridgeEvent = z.output<typeof EventBridgeEvent>;
