/**
 * Runs inside DynamoDB Local's network namespace, as plain `node` (bundled, node builtins only). Over
 * its IPC channel the stack sends one `RelayStart` with a listening socket bound to the host's
 * 127.0.0.1 (a socket stays in the namespace it was made in, whoever holds it). The relay
 * - starts the command (DynamoDB Local, listening on `port` of this namespace's own loopback);
 * - pipes each connection of that listener to `port` here;
 * - for each `RelayConnect`, connects to `port` here and hands the socket over (`RelayConnected`): the
 *   stack's own clients talk to DynamoDB Local with no relay in the way;
 * - when the channel closes (the stack stopped it, or died), stops the command (SIGTERM, then SIGKILL)
 *   and exits with the command's code, as it does when the command exits by itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, type Server, type Socket } from 'node:net';
import { constants } from 'node:os';
import { IGNORING_CTRL_C } from './ctrl-c';

const KILL_AFTER_MS = 5_000;
const SETPRIV = '/usr/bin/setpriv';

export interface RelayStart {
  command: string;
  args: string[];
  port: number;
}

export interface RelayConnect {
  connect: number;
}

export interface RelayConnected {
  connected: number;
  /** Why it could not connect; the socket comes with the message otherwise. */
  error?: string;
}

let server: ChildProcess | undefined;

// The relay ignores them too (node resets inherited dispositions): the stack's channel closing is what stops it.
process.on('SIGINT', () => undefined);
process.on('SIGQUIT', () => undefined);

function start({ command, args }: RelayStart) {
  // Killed if the relay dies, however (setpriv's parent-death signal, kept across exec).
  const dieWithRelay = existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'KILL', '--'] : [];
  const [first, ...rest] = [...dieWithRelay, ...IGNORING_CTRL_C, command, ...args] as [string, ...string[]];
  server = spawn(first, rest, { stdio: ['ignore', 'inherit', 'inherit'] });
  server.once('error', (error) => {
    console.error(`relay: could not start ${command}: ${error.message}`);
    process.exit(127);
  });
  server.once('exit', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
}

function relay(client: Socket, port: number) {
  client.setNoDelay(true);
  const upstream = connect({ host: '127.0.0.1', port, noDelay: true });
  // Not serving yet, or a reset: the client sees its connection close and tries again. A clean end
  // is passed on by pipe (each side ends after what it was sent), never cut short.
  const abort = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', abort);
  upstream.on('error', abort);
  client.pipe(upstream);
  upstream.pipe(client);
}

function handOver({ connect: id }: RelayConnect, port: number) {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  socket.once('connect', () => process.send?.({ connected: id } satisfies RelayConnected, socket));
  socket.once('error', (error) =>
    process.send?.({ connected: id, error: error.message } satisfies RelayConnected),
  );
}

let port: number | undefined;
process.on('message', (message: RelayStart | RelayConnect, listener: Server | undefined) => {
  if ('connect' in message) {
    if (port !== undefined) handOver(message, port);
    return;
  }
  port = message.port;
  start(message);
  listener?.on('connection', (client: Socket) => relay(client, message.port));
});

process.once('disconnect', () => {
  if (server === undefined) process.exit(0);
  server.kill('SIGTERM');
  setTimeout(() => server?.kill('SIGKILL'), KILL_AFTER_MS).unref();
});
