/**
 * What DynamoDB Local's own network namespace costs, beside DynamoDB Local run as it is (on every
 * interface), in the same run: the start (alternating, one of each at a time) and one GetItem through a
 * kept-alive SDK client, in interleaved blocks so a slow spell of the machine hits all alike. In the
 * namespace, two clients: one through the relay (as another process reaches it: CLI, tests, aws CLI),
 * one with `DynamoDbLocal.agent` (as the stack's own clients do: connections handed over, no relay).
 * Relay beside agent is the relay's own cost (the same DynamoDB Local); beside "as it is", two JVMs
 * differ by a few tenths of a ms from run to run, so the figures are printed, not checked.
 */
import { CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDbLocal, startDynamoDbLocal } from '@stagehooks/local/dynamodb-local';
import { localDynamoClient } from '@stagehooks/local/stack';
import { freePort } from '../test/support/free-port';
import { ms, percentile } from './stats';

const STARTS = 4;
const WARMUP = 1_000;
const BLOCKS = 10;
const PER_BLOCK = 200;

type Server = 'namespace' | 'as it is';
const servers: Server[] = ['as it is', 'namespace'];
type Mode = 'as it is' | 'relay' | 'agent';
const modes: Mode[] = ['as it is', 'relay', 'agent'];
const start = async (server: Server) =>
  startDynamoDbLocal({ port: await freePort(), ...(server === 'as it is' ? { bwrap: '/nonexistent' } : {}) });

export async function benchDynamoDb(): Promise<boolean> {
  const starts: Record<Server, number[]> = { namespace: [], 'as it is': [] };
  for (let i = 0; i < STARTS; i++) {
    for (const server of servers) {
      const began = performance.now();
      const dynamo = await start(server);
      starts[server].push(performance.now() - began);
      await dynamo.stop();
    }
  }

  const running = new Map<Server, DynamoDbLocal>();
  for (const server of servers) running.set(server, await start(server));
  const isolated = running.get('namespace')!;
  if (!isolated.isolated) {
    console.log(`dynamodb: no namespace on this machine: ${isolated.warning}`);
    for (const dynamo of running.values()) await dynamo.stop();
    return false;
  }
  const clients = new Map<Mode, ReturnType<typeof localDynamoClient>>([
    ['as it is', localDynamoClient(running.get('as it is')!.endpoint)],
    ['relay', localDynamoClient(isolated.endpoint)],
    ['agent', localDynamoClient(isolated.endpoint, isolated.agent)],
  ]);
  const key = { pk: { S: 'bench' } };
  const samples: Record<Mode, number[]> = { 'as it is': [], relay: [], agent: [] };
  try {
    for (const [mode, client] of clients) {
      if (mode === 'agent') continue; // the same table as the relay's

      await client.send(
        new CreateTableCommand({
          TableName: 'bench',
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await client.send(new PutItemCommand({ TableName: 'bench', Item: { ...key, value: { S: 'x' } } }));
      for (let i = 0; i < WARMUP; i++)
        await client.send(new GetItemCommand({ TableName: 'bench', Key: key }));
    }
    for (let block = 0; block < BLOCKS; block++) {
      for (const mode of block % 2 === 0 ? modes : [...modes].reverse()) {
        const client = clients.get(mode)!;
        for (let i = 0; i < PER_BLOCK; i++) {
          const began = performance.now();
          await client.send(new GetItemCommand({ TableName: 'bench', Key: key }));
          samples[mode].push(performance.now() - began);
        }
      }
    }
  } finally {
    for (const client of clients.values()) client.destroy();
    for (const dynamo of running.values()) await dynamo.stop();
  }

  console.log(`\ndynamodb: DynamoDB Local in its own network namespace, beside it as it is`);
  for (const server of servers) {
    console.log(
      `  start, ${server.padEnd(9)} p50 ${ms(percentile(starts[server], 50))} (${starts[server].map((t) => t.toFixed(0)).join(', ')} ms)`,
    );
  }
  const p50 = (mode: Mode) => percentile(samples[mode], 50);
  for (const mode of modes) {
    const getItem = samples[mode];
    console.log(
      `  GetItem, ${mode.padEnd(8)} x${getItem.length} p50 ${ms(p50(mode))} p90 ${ms(percentile(getItem, 90))}` +
        ` mean ${ms(getItem.reduce((a, b) => a + b, 0) / getItem.length)}`,
    );
  }
  console.log(
    `  difference of medians: relay - agent ${ms(p50('relay') - p50('agent'))} (the relay's own cost),` +
      ` agent - as it is ${ms(p50('agent') - p50('as it is'))} (two JVMs)`,
  );
  return true;
}
