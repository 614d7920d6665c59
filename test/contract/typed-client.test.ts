import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { StoredEvent } from '../../src/events/event.js';
import { startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

/**
 * The typed client of examples/typed-client, as a user builds it: openapi-typescript generates the
 * types from this openapi.yaml, the repository's tsc compiles the sample with its strict tsconfig,
 * and the sample runs against a live server. Each project is compiled in a scratch folder inside
 * the example, so that `openapi-fetch` resolves as it does for the sample, and runs never share files.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = join(ROOT, 'examples', 'typed-client');
const run = promisify(execFile);

/** A package's command-line entry, resolved as `from` would (the generator lives in the example's workspace). */
function binOf(name: string, from: string): string {
  const manifest = createRequire(from).resolve(`${name}/package.json`);
  const bin = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> }).bin;
  return join(dirname(manifest), Object.values(bin)[0]!);
}
const GENERATOR = binOf('openapi-typescript', join(EXAMPLE, 'package.json'));
const TSC = binOf('typescript', import.meta.url);

/** Runs tsc on a project; its exit status and what it printed, failing or not. */
async function compile(project: string): Promise<{ status: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [TSC, '-p', project]);
    return { status: 0, output: stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { status: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

/** A project in `folder`: the example's tsconfig, the generated client, and these files. */
function project(folder: string, generated: string, files: Record<string, string>): string {
  mkdirSync(folder);
  copyFileSync(join(EXAMPLE, 'tsconfig.json'), join(folder, 'tsconfig.json'));
  copyFileSync(generated, join(folder, 'auditor-api.d.ts'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
  return folder;
}

/**
 * What the document promises a typed client, beyond what the sample uses: each line compiles only
 * if the generated types say so (`Same` is true only for identical types).
 */
const PROMISES = `import createClient from 'openapi-fetch';
import type { components, paths } from './auditor-api.js';

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Event = components['schemas']['Event'];
const client = createClient<paths>();

export async function promises(): Promise<void> {
  const events = await client.GET('/events', { params: { query: { user_id: 'alice' } } });
  const eventsAreTheArray: Same<typeof events.data, Event[] | undefined> = true;
  const anyData: Event['data'] = { ip: '203.0.113.7', nested: { list: [1, 'two', null] } };
  const firstAnswer: paths['/events']['post']['responses'][201]['headers'] = { Location: '/events/x', 'X-Request-Id': 'r' };
  const replayed: paths['/events']['post']['responses'][201]['headers'] = { Location: '/events/x', 'X-Request-Id': 'r', 'Idempotent-Replayed': 'true' };
  const notAllowed: paths['/events/{id}']['get']['responses'][405] = {
    headers: { Allow: 'GET' },
    content: { 'application/json': { message: 'DELETE is not allowed on /events/x; use GET' } },
  };
  console.log(eventsAreTheArray, anyData, firstAnswer, replayed, notAllowed);
}
`;

/** Calls the document forbids, each on the line marked `rejected`: every one must fail to compile. */
const WRONG_CALLS: Record<string, string> = {
  'data-not-an-object.ts': `import createClient from 'openapi-fetch';
import type { paths } from './auditor-api.js';
const client = createClient<paths>();
await client.POST('/events', { body: { user_id: 'alice', event_type: 'login', data: 'x' } }); // rejected
`,
  'misspelt-field.ts': `import createClient from 'openapi-fetch';
import type { paths } from './auditor-api.js';
const client = createClient<paths>();
await client.POST('/events', { body: { user_id: 'alice', evnt_type: 'login' } }); // rejected
`,
  'no-such-event-field.ts': `import createClient from 'openapi-fetch';
import type { paths } from './auditor-api.js';
const client = createClient<paths>();
const { data } = await client.GET('/events', { params: { query: { user_id: 'alice' } } });
console.log(data?.[0]?.type); // rejected
`,
  'no-such-path.ts': `import createClient from 'openapi-fetch';
import type { paths } from './auditor-api.js';
const client = createClient<paths>();
await client.DELETE('/events/{id}', { params: { path: { id: 'x' } } }); // rejected
`,
};

describe('the typed client of examples/typed-client', () => {
  let scratch: string;
  let generated: string;

  before(async () => {
    scratch = mkdtempSync(join(EXAMPLE, '.check-'));
    generated = join(scratch, 'auditor-api.d.ts');
    await run(process.execPath, [GENERATOR, join(ROOT, 'openapi.yaml'), '-o', generated]);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('compiles the sample under strict checks, with what the document promises typed as promised', async () => {
    const folder = project(join(scratch, 'sample'), generated, {
      'record-and-read.ts': readFileSync(join(EXAMPLE, 'record-and-read.ts'), 'utf8'),
      'promises.ts': PROMISES,
    });
    const { status, output } = await compile(folder);
    assert.equal(output, '');
    assert.equal(status, 0);
  });

  it('rejects, at compile time, each call the document forbids and nothing else', async () => {
    const folder = project(join(scratch, 'wrong'), generated, WRONG_CALLS);
    const { status, output } = await compile(folder);
    assert.equal(status, 2, output);
    const failedAt = [...output.matchAll(/^(?:\S*\/)?([^/\s]+\.ts)\((\d+),\d+\): error TS\d+:/gm)].map(([, file, line]) => `${file}:${line}`);
    const marked = Object.entries(WRONG_CALLS).map(([file, text]) => `${file}:${text.split('\n').findIndex((line) => line.endsWith('// rejected')) + 1}`);
    assert.deepEqual([...new Set(failedAt)].sort(), marked.sort(), output);
  });

  describe('run against a live server', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(() => server.close());

    it('records the events it posts and prints them as the server answers them', async () => {
      const { stdout, stderr } = await run(process.execPath, [join(scratch, 'sample', 'dist', 'record-and-read.js')], {
        env: { ...process.env, AUDITOR_URL: server.url, AUDITOR_API_KEY: TEST_API_KEY },
      });
      assert.equal(stderr, '');

      const stored: StoredEvent[] = [];
      for await (const chunk of server.store.query({ userId: 'alice', eventTypes: [], dataFilters: [], order: 'asc' })) stored.push(...chunk);
      assert.deepEqual(stored.map((event) => [event.eventType, JSON.parse(event.dataJson) as unknown]), [
        ['login', { ip: '203.0.113.7' }],
        ['export', { report: 'q3', rows: 120 }],
        ['logout', {}],
      ]);
      const [login, exported, logout] = stored as [StoredEvent, StoredEvent, StoredEvent];
      const line = (event: StoredEvent) => `${new Date(event.timestampMs).toISOString()} alice ${event.eventType} ${event.dataJson}`;
      assert.equal(stdout, [
        `recorded ${login.id}`,
        `recorded ${exported.id} ${logout.id}`,
        line(login),
        line(exported),
        line(logout),
        `${login.id} is alice's login from 203.0.113.7`,
        '',
      ].join('\n'));
    });
  });
});
