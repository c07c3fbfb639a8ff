import type { IncomingMessage } from 'node:http';

/**
 * Reads a request's body, up to `maxBytes`: past it, stops buffering (the rest is drained unread) and
 * answers 'too large', so each server refuses in its own protocol's words.
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | 'too large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.removeAllListeners('data');
        request.resume();
        resolve('too large');
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
