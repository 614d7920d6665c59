import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';

const run = promisify(execFile);

export type LoadSpec = {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
  /** Request targets (path and query), cycled through. */
  paths: readonly string[];
  /** Request bodies, cycled through (POST only). */
  bodies?: readonly string[];
  /** CPU the load generator is pinned to, when taskset exists. */
  cpu?: number;
};

export type LoadResult = {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Responses outside 2xx, plus socket errors and timeouts. */
  errors: number;
};

export type LoadGenerator = { name: string; run(spec: LoadSpec): Promise<LoadResult> };

/** wrk where it is installed (a C load generator, far from being the bottleneck), else autocannon. */
export async function pickLoadGenerator(prefer?: string): Promise<LoadGenerator> {
  if (prefer !== 'autocannon' && (await commandExists('wrk'))) return { name: 'wrk', run: runWrk };
  return { name: 'autocannon', run: runAutocannon };
}

export async function commandExists(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'auditor-wrk-'));
  try {
    const script = join(dir, 'load.lua');
    writeFileSync(script, wrkScript(spec));
    const args = ['-t1', `-c${spec.connections}`, `-d${spec.durationSeconds}s`, '--latency', '-s', script, spec.url];
    const command = spec.cpu !== undefined && (await commandExists('taskset')) ? ['taskset', '-c', String(spec.cpu), 'wrk'] : ['wrk'];
    const { stdout } = await run(command[0]!, [...command.slice(1), ...args], { maxBuffer: 1 << 20 });
    return parseWrk(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A Lua long string holding `text` byte for byte: its level of `=` is one that neither appears
 * closed inside the text nor could close early against a `]` the text ends with (`[=[…]=]`).
 */
function luaString(text: string): string {
  let level = '=';
  while (text.includes(`]${level}]`)) level += '=';
  return `[${level}[${text}]${level}]`;
}

function wrkScript(spec: LoadSpec): string {
  const headers = Object.entries(spec.headers).map(([k, v]) => `wrk.headers[ ${luaString(k)} ] = ${luaString(v)}`);
  return [
    `wrk.method = "${spec.method}"`,
    ...headers,
    `local paths = { ${spec.paths.map(luaString).join(',\n')} }`,
    `local bodies = { ${(spec.bodies ?? ['']).map(luaString).join(',\n')} }`,
    'local i = 0',
    'request = function()',
    '  i = i + 1',
    `  local body = nil`,
    spec.method === 'POST' ? '  body = bodies[(i % #bodies) + 1]' : '',
    '  return wrk.format(nil, paths[(i % #paths) + 1], nil, body)',
    'end',
  ].join('\n');
}

function parseWrk(output: string): LoadResult {
  const number = (pattern: RegExp): number => Number(pattern.exec(output)?.[1] ?? 0);
  const duration = (pattern: RegExp): number => {
    const match = pattern.exec(output);
    if (!match) return Number.NaN;
    const unit = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm'];
    return Number(match[1]) * unit;
  };
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const errors =
    number(/Non-2xx or 3xx responses: (\d+)/) +
    (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  return {
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    // wrk pads a time in whole seconds with a space ("1.23s "): a p99 over a second was lost.
    p50Ms: duration(/^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m),
    p99Ms: duration(/^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m),
    requests: number(/(\d+) requests in/),
    errors,
  };
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  let i = 0;
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    method: spec.method,
    headers: spec.headers,
    requests: [
      {
        setupRequest: (request) => {
          i++;
          request.path = spec.paths[i % spec.paths.length]!;
          if (spec.bodies) request.body = spec.bodies[i % spec.bodies.length]!;
          return request;
        },
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    errors: result.non2xx + result.errors + result.timeouts,
  };
}
