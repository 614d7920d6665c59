import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/** Unless a test names one, the service reads no keys file: never a developer's data/keys.json. */
const NO_KEYS_FILE = join(tmpdir(), `auditor-test-no-keys-${process.pid}.json`);

export type ServiceProcess = {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in that output, as soon as it has been written. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpExecArray>;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
};

/** Runs `node dist/src/main.js` as a user would, and waits until it logs that it listens. */
export async function startService(env: Record<string, string>, cwd?: string): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', PORT: '0', AUDITOR_KEYS_FILE: NO_KEYS_FILE, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);

  const url = await new Promise<string>((resolve, reject) => {
    // Never wait forever: a service that does not say it listens within 15 s fails the test.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`service did not log that it listens within 15 s; stdout: ${out}; stderr: ${err}`));
    }, 15_000);
    const check = (): void => {
      const line = out.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line !== undefined) {
        clearTimeout(timer); // listening: the test decides from here how long it runs
        child.stdout!.off('data', check);
        const { host, port } = JSON.parse(line) as { host: string; port: number };
        resolve(`http://${host}:${port}`);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening: ${err}`));
    });
  });
  const waitFor = (stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = pattern.exec(stream === 'stdout' ? out : err);
        if (match === null) return;
        child[stream]!.off('data', check);
        resolve(match);
      };
      child[stream]!.on('data', check);
      void exited.then((code) => reject(new Error(`service exited with ${code} before writing ${pattern} to ${stream}`)));
      check();
    });
  return { child, url, stdout: () => out, stderr: () => err, waitFor, exited };
}

/**
 * Runs the service expecting it to refuse to start; returns its exit code and stderr. One that
 * starts listening after all is stopped at once (and so exits 0), for the test to fail, not hang.
 */
export async function runFailingService(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', AUDITOR_KEYS_FILE: NO_KEYS_FILE, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
    if (stdout.includes('"msg":"listening"')) child.kill('SIGTERM');
  });
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, stderr };
}
