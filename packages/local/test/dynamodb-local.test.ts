import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoHookRegistry, documentClient, ensureTable } from '@stagehooks/core/dynamodb';
import { JavaUnavailableError, startDynamoDbLocal } from '@stagehooks/local/dynamodb-local';
import { freePort } from '@test/free-port';
import { hookCreate } from '@test/hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesWith } from '../../core/test/executors/script-fixtures';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stagehooks-ddb-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const clientFor = (endpoint: string) =>
  new DynamoDBClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
  });

describe('startDynamoDbLocal', () => {
  it('keeps the registry in its data directory across a restart', async () => {
    // Prepare
    const port = await freePort();
    const dataDir = join(dir, 'data');
    const first = await startDynamoDbLocal({ port, dataDir });
    const client = clientFor(first.endpoint);
    expect(await ensureTable(client, 'stagehooks')).toBe('created');
    const { hook } = await new DynamoHookRegistry(documentClient(client), { tableName: 'stagehooks' }).create(
      hookCreate(),
      'alice',
    );
    await first.stop();

    // Act
    const second = await startDynamoDbLocal({ port, dataDir });
    try {
      // Assess: another region and credentials see the same shared database
      const again = clientFor(second.endpoint);
      expect(await ensureTable(again, 'stagehooks')).toBe('existing');
      const registry = new DynamoHookRegistry(documentClient(again), { tableName: 'stagehooks' });
      expect(await registry.get(hook.id)).toEqual(hook);
    } finally {
      await second.stop();
    }
  }, 120_000);

  it('stops cleanly: the port is free afterwards', async () => {
    const port = await freePort();
    const dynamo = await startDynamoDbLocal({ port });
    const client = clientFor(dynamo.endpoint);
    expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    await dynamo.stop();
    await expect(client.send(new ListTablesCommand({}))).rejects.toThrow();
  }, 120_000);

  it('says Java is missing, and what to install, when java cannot run', async () => {
    const start = startDynamoDbLocal({ port: await freePort(), java: join(dir, 'no-such-java') });
    await expect(start).rejects.toThrow(JavaUnavailableError);
    await expect(start).rejects.toThrow(/needs Java 17 or newer.*openjdk-17-jre-headless/);
  });

  it('refuses a Java older than 17', async () => {
    const java = join(dir, 'java11');
    await writeFile(java, '#!/bin/sh\necho \'openjdk version "11.0.21" 2023-10-17\' >&2\n');
    await chmod(java, 0o755);
    await expect(startDynamoDbLocal({ port: await freePort(), java })).rejects.toThrow(
      /needs Java 17.*11\.0\.21/,
    );
  });

  it('says which port is taken', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    try {
      await expect(startDynamoDbLocal({ port })).rejects.toThrow(`port ${port} is already in use`);
    } finally {
      server.close();
    }
  });
});

/** TCP sockets of this network namespace, as /proc shows them: local and remote address, state. */
function tcpSockets(): Array<{ local: string; remote: string; state: string }> {
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields.length > 3)
      .map((fields) => ({ local: fields[1]!, remote: fields[2]!, state: fields[3]! })),
  );
}

const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');

/** Local addresses of the sockets listening on `port` in this network namespace. */
function listeningAddresses(port: number): string[] {
  return tcpSockets()
    .filter((socket) => socket.local.endsWith(`:${hex(port)}`) && socket.state === '0A') // 0A: LISTEN
    .map((socket) => socket.local.slice(0, -5));
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Fake tools for the fallbacks: a `java` that runs DynamoDB Local unless told to fail, a `bwrap` that cannot. */
async function fakeTool(name: string, script: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `#!/bin/sh\n${script}\n`);
  await chmod(file, 0o755);
  return file;
}

describe('DynamoDB Local on a network of its own (bubblewrap)', () => {
  it('is reached only through 127.0.0.1 of this host: no other address of the machine, no listener on 0.0.0.0 or ::', async () => {
    // Prepare
    const port = await freePort();
    const dynamo = await startDynamoDbLocal({ port });
    const client = clientFor(dynamo.endpoint);
    try {
      // Act
      const tables = await client.send(new ListTablesCommand({}));

      // Assess: the SDK client works through the endpoint; nothing else answers
      expect(tables.TableNames).toEqual([]);
      expect(dynamo).toMatchObject({ isolated: true, warning: null });
      expect(listeningAddresses(port)).toEqual(['0100007F']); // 127.0.0.1
      // This machine's own addresses (link-local ones with their interface): no traffic leaves it.
      const others = Object.entries(networkInterfaces()).flatMap(([name, addresses = []]) =>
        addresses
          .filter((address) => !address.internal)
          .map((address) => (address.scopeid ? `${address.address}%${name}` : address.address)),
      );
      for (const host of ['127.0.0.2', '::1', ...others]) {
        expect({ host, connects: await connects(host, port) }).toEqual({ host, connects: false });
      }
    } finally {
      client.destroy();
      await dynamo.stop();
    }
  }, 120_000);

  it("gives this process's own clients connections made inside the namespace: no relay in their way", async () => {
    // Prepare
    const port = await freePort();
    const dynamo = await startDynamoDbLocal({ port });
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
      requestHandler: { httpAgent: dynamo.agent! },
    });
    // Connections to the port on this host's loopback (01: ESTABLISHED), such as the start's own probe
    const onLoopback = () =>
      tcpSockets()
        .filter((socket) => socket.remote.endsWith(`:${hex(port)}`) && socket.state === '01')
        .map((socket) => socket.local);
    const before = onLoopback();
    try {
      // Act
      const tables = await client.send(new ListTablesCommand({}));
      await client.send(new ListTablesCommand({}));

      // Assess: it works, with no new connection on the loopback
      expect(tables.TableNames).toEqual([]);
      expect(onLoopback().filter((local) => !before.includes(local))).toEqual([]);
    } finally {
      await dynamo.stop();
    }
    await expect(client.send(new ListTablesCommand({}))).rejects.toThrow('DynamoDB Local has stopped');
    client.destroy();
  }, 120_000);

  it('says why DynamoDB Local failed inside the namespace: its exit code and output', async () => {
    const java = await fakeTool(
      'java-fails',
      'if [ "$1" = -version ]; then echo \'openjdk version "17.0.1"\' >&2; exit 0; fi\necho "no jar for you" >&2; exit 3',
    );
    await expect(startDynamoDbLocal({ port: await freePort(), java })).rejects.toThrow(
      /exited with code 3: no jar for you/,
    );
  });

  it('runs as before, on every interface, and says so in one line when bwrap is not installed', async () => {
    const port = await freePort();
    const dynamo = await startDynamoDbLocal({ port, bwrap: join(dir, 'no-such-bwrap') });
    const client = clientFor(dynamo.endpoint);
    try {
      expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
      expect(dynamo.isolated).toBe(false);
      expect(dynamo.warning).toBe(
        `DynamoDB Local listens on port ${port} of every interface of this machine, open to other hosts unless a firewall closes it: bwrap is not installed (install bubblewrap to keep it to 127.0.0.1)`,
      );
    } finally {
      client.destroy();
      await dynamo.stop();
    }
  }, 120_000);

  it('runs as before and says why when bwrap cannot create the namespace (no user namespaces)', async () => {
    const bwrap = await fakeTool(
      'bwrap-denied',
      'echo "bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces." >&2; exit 1',
    );
    const dynamo = await startDynamoDbLocal({ port: await freePort(), bwrap });
    try {
      expect(dynamo.isolated).toBe(false);
      expect(dynamo.warning).toMatch(
        /open to other hosts unless a firewall closes it: bwrap cannot create a network namespace here \(bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces\.\)$/,
      );
    } finally {
      await dynamo.stop();
    }
  }, 120_000);
});

/** A stack-like process running `script` (ESM, under tsx) that prints `ready` once it is up; its output. */
async function stackLike(script: string, options: { detached?: boolean } = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: options.detached ?? false,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => {
      if (output.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the starter exited early (${code})`)));
  });
  return { child, output: () => output };
}

describe('DynamoDB Local started by a process that dies', () => {
  it('ends with it, even when it is killed outright: nothing keeps the port or the database', async () => {
    // Prepare: a stack-like process that starts DynamoDB Local and is then killed with SIGKILL
    const port = await freePort();
    const { child: starter } = await stackLike(
      `import { startDynamoDbLocal } from '@stagehooks/local/dynamodb-local';
       await startDynamoDbLocal({ port: ${port} });
       console.log('ready');`,
    );
    const servers = () => processesWith(`-port\0${port}\0`);
    expect(servers()).toHaveLength(1);

    // Act
    starter.kill('SIGKILL');

    // Assess
    const deadline = Date.now() + 15_000;
    const gone = () => servers().length === 0 && listeningAddresses(port).length === 0;
    while (!gone() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(servers()).toEqual([]);
    expect(listeningAddresses(port)).toEqual([]);
  });

  it('outlives a Ctrl-C of its terminal until the stack stops it, in its own order', async () => {
    // Prepare: Ctrl-C sends SIGINT to the terminal's whole process group
    const port = await freePort();
    const { child: starter, output } = await stackLike(
      `import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
       import { startDynamoDbLocal } from '@stagehooks/local/dynamodb-local';
       const dynamo = await startDynamoDbLocal({ port: ${port} });
       process.once('SIGINT', async () => {
         await new Promise((resolve) => setTimeout(resolve, 500));
         const client = new DynamoDBClient({
           endpoint: dynamo.endpoint,
           region: 'eu-west-1',
           credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
         });
         const { TableNames } = await client.send(new ListTablesCommand({}));
         console.log('after SIGINT: ' + JSON.stringify(TableNames));
         await dynamo.stop();
         process.exit(0);
       });
       console.log('ready');`,
      { detached: true },
    );
    const exited = new Promise<number | null>((resolve) => starter.once('exit', resolve));

    // Act
    process.kill(-starter.pid!, 'SIGINT');

    // Assess
    expect(await exited).toBe(0);
    expect(output()).toContain('after SIGINT: []');
    expect(processesWith(`-port\0${port}\0`)).toEqual([]);
  });
});
