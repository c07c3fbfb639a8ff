import { z } from 'zod';
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
