import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { HttpWebhookSender, type HttpWebhookSenderInit } from '@stagehooks/core/executors/webhook';

/** One request as the receiver got it. */
export interface ReceivedRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The client's port: the same for requests that reused a kept-alive connection. */
  remotePort: number | undefined;
  /** `performance.now()` when the request had fully arrived. */
  receivedAt: number;
}

/** How to answer one request. */
export interface ScriptedResponse {
  /** 200 unless given. */
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Wait this long before answering (or dropping). */
  delayMs?: number;
  /** Close the connection without an answer. */
  drop?: boolean;
}

export type ResponseScript = ScriptedResponse | ((request: ReceivedRequest) => ScriptedResponse);

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers from a script: queued
 * responses first, in order, then the fallback (200, empty body, unless set).
 */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  readonly #queue: ResponseScript[] = [];
  #fallback: ResponseScript = { status: 200 };
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<HttpReceiver> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (typeof address !== 'object' || address === null)
      throw new Error('the receiver is not listening on TCP');
    const receiver = new HttpReceiver(server, address.port);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: ReceivedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          remotePort: req.socket.remotePort,
          receivedAt: performance.now(),
        };
        receiver.requests.push(request);
        receiver.#answer(request, res);
      });
    });
    return receiver;
  }

  /** `http://127.0.0.1:<port><path>`. */
  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Answers the next requests with these, in order. */
  reply(...responses: ResponseScript[]): this {
    this.#queue.push(...responses);
    return this;
  }

  /** Answers every request the queue does not cover with this. */
  replyAlways(response: ResponseScript): this {
    this.#fallback = response;
    return this;
  }

  /** Forgets requests and script, keeps the port. */
  reset(): void {
    this.requests.length = 0;
    this.#queue.length = 0;
    this.#fallback = { status: 200 };
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #answer(request: ReceivedRequest, res: ServerResponse): void {
    const script = this.#queue.shift() ?? this.#fallback;
    const response = typeof script === 'function' ? script(request) : script;
    // A client that gave up makes writes fail; that is the client's business, not the test's.
    res.on('error', () => {});
    const respond = () => {
      if (res.destroyed) return;
      if (response.drop) {
        res.socket?.destroy();
        return;
      }
      res.writeHead(response.status ?? 200, response.headers);
      res.end(response.body);
    };
    if (!response.delayMs) {
      respond();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      respond();
    }, response.delayMs);
    this.#timers.add(timer);
  }
}

/**
 * A webhook sender allowed to call `receiver` (and nothing else private), with fast retry backoff: tests
 * are about what is retried, not how long it waits. No secret resolves unless `options` brings a resolver.
 */
export function senderTo(
  receiver: HttpReceiver,
  options: Partial<HttpWebhookSenderInit> = {},
): HttpWebhookSender {
  return new HttpWebhookSender({
    secrets: { resolve: async (ref) => Promise.reject(new Error(`no secret ${ref}`)) },
    allow: [`127.0.0.1:${receiver.port}`],
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    ...options,
  });
}
