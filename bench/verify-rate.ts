/**
 * `npm run verify`'s throughput: the built CLI run as a child process on the bench's database, as
 * an operator runs it, timed from the outside (start-up and all). Whatever verify checks (the chain
 * walk, the tree rebuilt), this measures it; the rates verify prints itself are kept beside.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type VerifyRun = {
  wallSeconds: number;
  /** Events in the log over the wall time. */
  eventsPerSecond: number;
  /** The lines of verify's output that give a rate ("… events/s …"). */
  reportedRates: string[];
  exitCode: number;
};

/**
 * Runs `node script` (the built src/cli/verify.js) with `env`, once. Passes `--key` with the log's
 * verifier key when this verify takes one (its --help says so), else runs it as it is. With
 * `cpus` (`0-1`), it runs under `taskset -c cpus`: the bench pins itself, and so its children, to
 * the load generator's CPU, and verify is meant to use every core.
 */
export async function measureVerify(script: string, env: Record<string, string>, events: number, key: string, cpus?: string): Promise<VerifyRun> {
  const childEnv = { ...process.env, ...env };
  const usage = await run(process.execPath, [script, '--help'], { env: childEnv })
    .catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }));
  const args = `${usage.stdout}${usage.stderr}`.includes('--key') ? ['--key', key] : [];
  const started = performance.now();
  let stdout: string;
  let exitCode = 0;
  try {
    const [command, commandArgs] = cpus === undefined
      ? [process.execPath, [script, ...args]]
      : ['taskset', ['-c', cpus, process.execPath, script, ...args]];
    ({ stdout } = await run(command, commandArgs, { env: childEnv, maxBuffer: 16 << 20 }));
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    exitCode = typeof failed.code === 'number' ? failed.code : -1;
    stdout = `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  return {
    wallSeconds,
    eventsPerSecond: events / wallSeconds,
    reportedRates: stdout.split('\n').filter((line) => /events\/s/.test(line)).map((line) => line.trim()),
    exitCode,
  };
}
