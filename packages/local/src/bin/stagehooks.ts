#!/usr/bin/env node
/** The `stagehooks` command line: `npm start` runs `stagehooks start`; `npm run stagehooks -- <command>` the rest. */
import './node-compat';
import { runCli } from '../cli';

process.exitCode = await runCli(process.argv.slice(2));
