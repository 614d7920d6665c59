/**
 * The command line both verifiers share: options, files, and the exit status.
 *
 *   0  valid: one line on stdout says what was proved
 *   1  invalid: one line on stdout, `INVALID: ` and what failed
 *   2  unusable input or a bad command line: one line on stderr says which input and why
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXIT_INVALID, EXIT_UNUSABLE, EXIT_VALID, Invalid, Unusable, type Input } from './verdict.js';

export type Command = {
  name: string;
  /** The whole help text, starting with `usage:`. */
  usage: string;
  /** The options, each a file name except --key (a verifier key, or a file holding one). */
  required: readonly Input[];
  optional?: readonly Input[];
  /** Runs the checks over the inputs' texts; returns what was proved, throws Invalid or Unusable. */
  check: (texts: Partial<Record<Input, string>>) => string;
};

export function runCommand(command: Command, args = process.argv.slice(2)): void {
  const inputs = [...command.required, ...(command.optional ?? [])];
  const refuse = (line: string): void => {
    process.stderr.write(`${command.name}: ${line}\n`);
    process.exitCode = EXIT_UNUSABLE;
  };
  let values: Partial<Record<Input | 'help', string | boolean>>;
  try {
    ({ values } = parseArgs({
      args,
      options: { ...Object.fromEntries(inputs.map((input) => [input, { type: 'string' }])), help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return refuse(`${(error as Error).message}\n${command.usage}`);
  }
  if (values.help === true) {
    process.stdout.write(`${command.usage}\n`);
    process.exitCode = EXIT_VALID;
    return;
  }
  const missing = command.required.find((input) => values[input] === undefined);
  if (missing !== undefined) return refuse(`--${missing} is required\n${command.usage}`);

  /** How a message names an input: by its option and file, or by its option alone. */
  const label = (input: Input): string => {
    const value = values[input];
    return typeof value !== 'string' || (input === 'key' && !readsFile(value)) ? `--${input}` : `--${input} ${value}`;
  };
  try {
    const texts: Partial<Record<Input, string>> = {};
    for (const input of inputs) {
      const value = values[input];
      if (typeof value === 'string') texts[input] = input === 'key' ? readKey(value) : readInput(input, value);
    }
    process.stdout.write(`${command.check(texts)}\n`);
    process.exitCode = EXIT_VALID;
  } catch (error) {
    if (error instanceof Invalid) {
      process.stdout.write(`INVALID: ${error.message}\n`);
      process.exitCode = EXIT_INVALID;
    } else if (error instanceof Unusable) {
      refuse(`${label(error.input)}: ${error.message}`);
    } else {
      refuse(`could not check: ${(error as Error).message}`);
    }
  }
}

function readInput(input: Input, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Unusable(input, `cannot read it: ${(error as Error).message}`);
  }
}

/** --key is the key itself, or the name of a file holding it (as GET /checkpoint/key serves it). */
function readKey(value: string): string {
  if (!readsFile(value)) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !value.includes('+')) {
      throw new Unusable('key', 'there is no such file, and it is not a verifier key (<name>+<key ID>+<base64 key>) either');
    }
    throw new Unusable('key', `cannot read it: ${(error as Error).message}`);
  }
}

/** A verifier key has the shape `name+8 hex digits+base64`; anything else names a file. */
function readsFile(value: string): boolean {
  return !/^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/.test(value);
}
