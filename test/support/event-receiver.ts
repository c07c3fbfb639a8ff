import { createServer, type Server } from 'node:http';
import { EventBridgeEvent, stageCompletedDetailType } from '@stagehooks/core/domain';

/**
 * A real HTTP endpoint for STAGEHOOKS_EVENT_TARGET_URL: collects the events the stack forwards and
 * lets a test wait for one.
 */
export async function startEventReceiver() {
  const events: EventBridgeEvent[] = [];
  const waiters: Array<{ match: (e: EventBridgeEvent) => boolean; resolve: (e: EventBridgeEvent) => void }> =
    [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      // Parsed, not cast: a forwarded event that is not a whole EventBridge event fails the test.
      const event = EventBridgeEvent.parse(JSON.parse(body));
      events.push(event);
      for (const waiter of [...waiters]) {
        if (waiter.match(event)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(event);
        }
      }
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/events`,
    events,
    /** The first event (already received or still to come) that matches. */
    waitFor(match: (e: EventBridgeEvent) => boolean, timeoutMs = 20_000): Promise<EventBridgeEvent> {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no matching event arrived in time')), timeoutMs);
        waiters.push({
          match,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
    verdict(jobId: string, hookPoint: string, timeoutMs?: number) {
      return this.waitFor(
        (e) =>
          e['detail-type'] === stageCompletedDetailType &&
          e.detail.jobId === jobId &&
          e.detail.hookPoint === hookPoint,
        timeoutMs,
      );
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
