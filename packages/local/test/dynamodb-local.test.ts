import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
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

describe('DynamoDB Local started by a process that dies', () => {
  it('ends with it, even when it is killed outright: nothing keeps the port or the database', async () => {
    // Prepare: a stack-like process that starts DynamoDB Local and is then killed with SIGKILL
    const port = await freePort();
    const starter = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { startDynamoDbLocal } from '@stagehooks/local/dynamodb-local';
         await startDynamoDbLocal({ port: ${port} });
         console.log('ready');`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      starter.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      starter.once('exit', (code) => reject(new Error(`the starter exited early (${code})`)));
    });
    const servers = () => processesWith(`-port\0${port}\0`);
    expect(servers()).toHaveLength(1);

    // Act
    starter.kill('SIGKILL');

    // Assess
    const deadline = Date.now() + 15_000;
    while (servers().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(servers()).toEqual([]);
  });
});
