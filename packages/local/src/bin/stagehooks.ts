#!/usr/bin/env node
/** The `stagehooks` command line. */
import './node-compat';
import { parseArgs } from 'node:util';
import { StagehooksError } from '@stagehooks/core/errors';
import { loadLocalConfig } from '../config';
import { startLocalStack } from '../stack';

const usage = `usage: stagehooks <command>

commands:
  start     start the local stack (DynamoDB Local with the registry table) in the foreground
`;

async function start() {
  const config = loadLocalConfig();
  const stack = await startLocalStack(config);
  console.log(`stagehooks local stack is up
  DynamoDB Local  ${stack.dynamo.endpoint}  (data in ${config.dataDir.dynamodb})
  table           ${config.tableName} (${stack.table})
Press Ctrl-C to stop.`);
  const shutdown = async (signal: string) => {
    console.log(`\n${signal}: stopping`);
    await stack.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

async function main(argv: string[]) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  const [command] = positionals;
  if (values.help || !command) {
    console.log(usage);
    return;
  }
  if (command === 'start') return start();
  console.error(`stagehooks: unknown command "${command}"\n\n${usage}`);
  process.exitCode = 2;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Our own errors say what to do; anything else is a bug and keeps its stack.
  console.error(error instanceof StagehooksError ? `stagehooks: ${error.message}` : error);
  process.exitCode = 1;
});
