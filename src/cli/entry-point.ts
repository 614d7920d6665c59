import { existsSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, type Config, type ConfigOptions } from '../config.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** A command line that does not parse: exit 2 for every entry point (1 is each tool's own verdict). */
export const EXIT_USAGE = 2;

export type EntryPoint<O extends Options> = {
  /** Prefixes every line the entry point writes to stderr: `verify: …`. */
  name: string;
  /** The whole help text, starting with `usage:`. */
  usage: string;
  options: O;
  /** The subcommands and the options each takes, when the entry point takes one (keys); else none. */
  commands?: Readonly<Record<string, ReadonlyArray<keyof O & string>>>;
  /** The exit status of `fail` (verify: 2 could not check; migrate-to-postgres: 1 failed). */
  failStatus: number;
  /** How the configuration is read, when not as the service reads it (see loadConfig). */
  config?: ConfigOptions;
};

export type CommandLine<O extends Options> = {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'];
  /** The subcommand, when the entry point declares some. */
  command: string | undefined;
  /** The configuration from the environment and `.env`, checked. */
  config: Config;
};

/** The entry point this process runs: one per process, set by readCommandLine. */
let running: { name: string; failStatus: number } = { name: 'auditor', failStatus: 1 };

/** Writes `name: line` to stderr and exits with the entry point's failStatus, or `status`. */
export function fail(line: string, status = running.failStatus): never {
  process.stderr.write(`${running.name}: ${line}\n`);
  process.exit(status);
}

/**
 * What every entry point (the service and each CLI) does first, one way: readCommandLine, then
 * the configuration from the environment and `.env`, which fails with one line per bad variable.
 */
export function startEntryPoint<const O extends Options>(entry: EntryPoint<O>, args = process.argv.slice(2)): CommandLine<O> {
  const { values, command } = readCommandLine(entry, args);
  return { values, command, config: readConfig(entry.config) };
}

/**
 * The command line, read one way for every entry point: `--help` (or `-h`) prints the usage to
 * stdout and exits 0; an unknown option, a missing or unknown subcommand or a stray argument prints
 * what was wrong and the usage to stderr and exits 2. Then the process makes its files its owner's
 * alone and reads `.env` (process.loadEnvFile, guarded: it throws when the file is missing;
 * variables already set win). An entry point that is not run beside the service (the witness)
 * stops here: the service's configuration is not its business.
 */
export function readCommandLine<const O extends Options>(entry: EntryPoint<O>, args = process.argv.slice(2)): Omit<CommandLine<O>, 'config'> {
  running = { name: entry.name, failStatus: entry.failStatus };
  function usageError(line: string): never {
    fail(`${line}\n${entry.usage}`, EXIT_USAGE);
  }

  // Typed as the general config, so the values come back loosely typed and are narrowed once below.
  const parsing: ParseArgsConfig = { args, options: { ...entry.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true };
  let parsed;
  try {
    parsed = parseArgs(parsing);
  } catch (error) {
    usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${entry.usage}\n`);
    process.exit(0);
  }

  const [command, ...rest] = positionals;
  if (entry.commands !== undefined) {
    const names = Object.keys(entry.commands).join(', ');
    if (command === undefined) usageError(`name a command: ${names}`);
    const takes: readonly string[] | undefined = Object.hasOwn(entry.commands, command) ? entry.commands[command] : undefined;
    if (takes === undefined) usageError(`unknown command "${command}"; the commands are ${names}`);
    // Each command takes only its own options: a --scope on revoke is a mistake worth saying.
    const stray = Object.keys(values).find((option) => option !== 'help' && !takes.includes(option));
    if (stray !== undefined) usageError(`${command} takes no --${stray}`);
  } else if (command !== undefined) {
    usageError(`unexpected argument "${command}"`);
  }
  if (rest.length > 0) usageError(`unexpected argument "${rest[0]}"`);

  // Audit data is its owner's alone: whatever this process creates (a database with its -wal and
  // -shm, chain.secret, the keys file, their folders) is created owner-only, whatever the umask.
  process.umask(0o077);
  if (existsSync('.env')) process.loadEnvFile('.env');
  delete values.help;
  // strict parsing has checked every value against entry.options, which is what this type says.
  return { values: values as CommandLine<O>['values'], command };
}

function readConfig(options: ConfigOptions | undefined): Config {
  try {
    return loadConfig(process.env, options);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.problems.join(`\n${running.name}: `));
    throw error;
  }
}
