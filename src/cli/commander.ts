import { createRequire } from 'node:module';
import type * as Commander from 'commander';

/*
 * commander, loaded through require: its ES module entry (esm.mjs) re-exports the CommonJS build,
 * which an `import` sends through Node's CommonJS lexer and the ES module loader. That took 27 ms of
 * every start (`--version` included); require takes 14 ms (node v20, measured with
 * performance.now() around each in a fresh process).
 */
const commander = createRequire(import.meta.url)('commander') as typeof Commander;

export const { Command, CommanderError, Help, Option } = commander;
export type Command = Commander.Command;
export type CommanderError = Commander.CommanderError;
export type Help = Commander.Help;
export type Option = Commander.Option;
