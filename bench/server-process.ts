import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export type RunningServer = {
  url: string;
  pid: number;
  /** Peak resident memory so far (VmHWM), in MB; NaN where /proc is not available. */
  peakRssMb(): number;
  /** CPU time the process has used so far, every thread's, user and system, in µs; NaN where /proc is not available. */
  cpuMicros(): number;
  stop(): Promise<void>;
};

export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}

/**
 * Starts `node script` with `env`, pinned to `cpu` (a CPU, or a taskset list such as `0-1`) when
 * taskset is given, and waits for it to listen; then, given `mainThreadCpu`, pins its main thread
 * alone there, the others (a writer thread, libuv's pool, V8's helpers) staying on `cpu`.
 */
export async function startServer(
  script: string,
  env: Record<string, string>,
  options: { taskset: boolean; cpu: number | string; mainThreadCpu?: number | undefined; onStdout?: (chunk: string) => void },
): Promise<RunningServer> {
  const port = await freePort();
  const node = [process.execPath, script];
  const command = options.taskset ? ['taskset', '-c', String(options.cpu), ...node] : node;
  const child: ChildProcess = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', options.onStdout === undefined ? 'ignore' : 'pipe', 'inherit'],
  });
  if (options.onStdout !== undefined) child.stdout!.setEncoding('utf8').on('data', options.onStdout);
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    try {
      await fetch(`${url}/`);
      break; // any answer (a 404) means it listens
    } catch {
      if (attempt > 200) throw new Error(`${script} did not start listening`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  // Without -a, taskset sets the thread whose id it is given: the main thread's is the process's.
  if (options.taskset && options.mainThreadCpu !== undefined) execFileSync('taskset', ['-p', '-c', String(options.mainThreadCpu), String(child.pid)], { stdio: 'ignore' });
  return {
    url,
    pid: child.pid!,
    peakRssMb() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
      } catch {
        return Number.NaN;
      }
    },
    cpuMicros() {
      try {
        // utime and stime, the 14th and 15th fields, in clock ticks (100 a second on Linux).
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return (Number(fields[11]) + Number(fields[12])) * 10_000;
      } catch {
        return Number.NaN;
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
