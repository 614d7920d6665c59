import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CROSS_USER_LIMIT } from '../../src/events/parse-event-query.js';
import { parseIndexedFields } from '../../src/store/indexed-fields.js';
import { TooManyGroupsError } from '../../src/store/summary-groups.js';
import { fakeStore } from '../helpers/fake-store.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

type ApiEvent = { id: string; timestamp: string; user_id: string; event_type: string; data: Record<string, unknown> };

const DAY_1 = '2030-05-01';
const DAY_2 = '2030-05-02';

/** The analyst's questions of the issue, asked across users, on a log of a day and a half. */
describe('GET /events across users, and GET /events/summary', () => {
  let server: TestServer;
  let now = Date.parse(`${DAY_1}T08:00:00Z`);
  const ids: string[] = [];
  const story = [
    [`${DAY_1}T08:00:00Z`, { user_id: 'alice', event_type: 'login', data: { ip: '1.1.1.1', result: 'failed' } }],
    [`${DAY_1}T10:00:00Z`, { user_id: 'bob', event_type: 'login', data: { result: 'ok' } }],
    [`${DAY_1}T23:59:59Z`, { user_id: 'carol', event_type: 'login', data: { result: 'failed' } }],
    [`${DAY_2}T08:30:00Z`, { user_id: 'alice', event_type: 'invoice.update', data: { invoice_id: 42 } }],
    [`${DAY_2}T09:00:00Z`, { user_id: 'dave', event_type: 'invoice.view', data: { invoice_id: '42' } }],
    [`${DAY_2}T09:30:00Z`, { user_id: 'bob', event_type: 'login', data: { result: 'failed' } }],
    [`${DAY_2}T10:00:00Z`, { user_id: 'erin', event_type: 'invoice.pay', data: { invoice_id: 43 } }],
  ] as const;

  before(async () => {
    server = await startTestServer({ storeOptions: { clock: () => now, indexedFields: parseIndexedFields('invoice_id').fields } });
    for (const [at, event] of story) {
      now = Date.parse(at);
      const response = await server.post(event);
      assert.equal(response.status, 201);
      ids.push(((await response.json()) as { id: string }).id);
    }
  });
  after(() => server.close());

  async function find(query: string, accept = 'application/json'): Promise<{ events: ApiEvent[]; link: string | null }> {
    const response = await server.get(query, { Accept: accept });
    assert.equal(response.status, 200, `${query}: ${response.status}`);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    return { events: (await response.json()) as ApiEvent[], link: response.headers.get('link') };
  }
  const getSummary = (query: string) => fetch(`${server.url}/events/summary?${query}`, { headers: { 'X-API-Key': TEST_API_KEY } });
  const storyOf = (events: ApiEvent[]) => events.map((event) => ids.indexOf(event.id));

  it('answers "all failed logins yesterday" across users', async () => {
    const { events, link } = await find(`event_type=login&result=failed&since=${DAY_1}T00:00:00Z&until=${DAY_2}T00:00:00Z`);
    assert.deepEqual(storyOf(events), [0, 2]);
    assert.deepEqual(events[0], { id: ids[0], timestamp: `${DAY_1}T08:00:00.000Z`, user_id: 'alice', event_type: 'login', data: { ip: '1.1.1.1', result: 'failed' } });
    assert.equal(link, null);
  });

  it('answers "everything since 09:00", oldest or newest first', async () => {
    assert.deepEqual(storyOf((await find(`since=${DAY_2}T09:00:00Z`)).events), [4, 5, 6]);
    assert.deepEqual(storyOf((await find(`since=${DAY_2}T09:00:00Z&order=desc`)).events), [6, 5, 4]);
  });

  it('answers "who touched invoice 42" through its declared index, whether the id was written as a number or a string', async () => {
    assert.deepEqual(storyOf((await find('invoice_id=42')).events), [3, 4]);
    assert.deepEqual(storyOf((await find('data.invoice_id=42&event_type=invoice.view')).events), [4]);
    assert.deepEqual(storyOf((await find('invoice_id=42&invoice_id=43&order=desc')).events), [6, 4, 3]);
  });

  it('answers one user\'s query as before: every event, no page, no Link', async () => {
    const { events, link } = await find('user_id=bob');
    assert.deepEqual(storyOf(events), [1, 5]);
    assert.equal(link, null);
  });

  it('counts by type, user, hour and day with the same filters: the largest groups first, hours and days in time order', async () => {
    const summary = async (query: string) => {
      const response = await getSummary(query);
      assert.equal(response.status, 200, query);
      assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(response.headers.get('cache-control'), 'no-store');
      return response.json();
    };
    assert.deepEqual(await summary(`group_by=event_type&since=${DAY_1}T00:00:00Z`), {
      group_by: 'event_type',
      groups: [{ key: 'login', count: 4 }, { key: 'invoice.pay', count: 1 }, { key: 'invoice.update', count: 1 }, { key: 'invoice.view', count: 1 }],
      total: 7,
      truncated: false,
    });
    assert.deepEqual(await summary('group_by=user_id&event_type=login&result=failed'), {
      group_by: 'user_id', groups: [{ key: 'alice', count: 1 }, { key: 'bob', count: 1 }, { key: 'carol', count: 1 }], total: 3, truncated: false,
    });
    assert.deepEqual(await summary(`group_by=hour&since=${DAY_2}T00:00:00Z&order=desc`), {
      group_by: 'hour',
      groups: [{ key: `${DAY_2}T10:00:00.000Z`, count: 1 }, { key: `${DAY_2}T09:00:00.000Z`, count: 2 }, { key: `${DAY_2}T08:00:00.000Z`, count: 1 }],
      total: 4,
      truncated: false,
    });
    assert.deepEqual(await summary('group_by=day&invoice_id=42'), {
      group_by: 'day', groups: [{ key: `${DAY_2}T00:00:00.000Z`, count: 2 }], total: 2, truncated: false,
    });
    assert.deepEqual(await summary('group_by=day&user_id=nobody'), { group_by: 'day', groups: [], total: 0, truncated: false });
  });

  it('refuses a summary without a grouping or with one it does not know, and parameters of /events, with 400', async () => {
    for (const [query, message] of [
      ['', /^group_by is required: one of event_type, user_id, hour, day$/],
      ['group_by=week', /^group_by must be one of event_type, user_id, hour, day, not "week"$/],
      ['group_by=day&limit=5', /^limit is not a parameter of \/events\/summary/],
      ['group_by=day&since=yesterday', /^since must be an ISO 8601 instant/],
    ] as const) {
      const response = await getSummary(query);
      assert.equal(response.status, 400, query);
      assert.match(await errorMessage(response), message);
    }
  });

  it('answers a summary of more groups than it counts with 422 and what to do', async () => {
    const crowded = await startTestServer({ store: fakeStore({ summarize: () => Promise.reject(new TooManyGroupsError('user_id')) }) });
    try {
      const response = await fetch(`${crowded.url}/events/summary?group_by=user_id`, { headers: { 'X-API-Key': TEST_API_KEY } });
      assert.equal(response.status, 422);
      assert.match(await errorMessage(response), /^The matching events fall in more than 100000 groups by user_id: narrow the query \(since, until, event_type, a data filter\) or group by something else$/);
    } finally {
      await crowded.close();
    }
  });

  it('needs a read key for a summary', async () => {
    const response = await fetch(`${server.url}/events/summary?group_by=day`);
    assert.equal(response.status, 401);
  });

  describe(`with more events than a first page of ${DEFAULT_CROSS_USER_LIMIT}`, () => {
    before(async () => {
      now = Date.parse(`${DAY_2}T11:00:00Z`);
      const batch = Array.from({ length: 150 }, (_, i) => ({ user_id: `crowd-${i % 7}`, event_type: 'view', data: { i } }));
      const response = await fetch(`${server.url}/events/batch`, { method: 'POST', headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(batch) });
      assert.equal(response.status, 201);
    });

    it('answers a first page and a Link to the next, which leads through every event once', async () => {
      const seen: ApiEvent[] = [];
      let next: string | null = '/events?event_type=view';
      let pages = 0;
      while (next !== null) {
        const response = await fetch(`${server.url}${next}`, { headers: { 'X-API-Key': TEST_API_KEY } });
        assert.equal(response.status, 200);
        const page = (await response.json()) as ApiEvent[];
        assert.ok(page.length <= DEFAULT_CROSS_USER_LIMIT);
        seen.push(...page);
        next = /^<([^>]+)>; rel="next"$/.exec(response.headers.get('link') ?? '')?.[1] ?? null;
        pages++;
      }
      assert.equal(pages, 2);
      assert.deepEqual(seen.map((event) => event.data.i), Array.from({ length: 150 }, (_, i) => i));
    });

    it('streams the whole range when all=true asks, in NDJSON and CSV, and a page of any size with limit', async () => {
      const ndjson = await server.get('event_type=view&all=true', { Accept: 'application/x-ndjson' });
      assert.equal(ndjson.status, 200);
      assert.equal(ndjson.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
      assert.equal(ndjson.headers.get('link'), null);
      const lines = (await ndjson.text()).trimEnd().split('\n').map((line) => JSON.parse(line) as ApiEvent);
      assert.deepEqual(lines.map((event) => event.data.i), Array.from({ length: 150 }, (_, i) => i));

      const csv = await server.get('all=true', { Accept: 'text/csv' });
      assert.equal(csv.status, 200);
      assert.equal((await csv.text()).trimEnd().split('\r\n').length, 1 + story.length + 150);

      const { events, link } = await find('limit=120&order=desc');
      assert.equal(events.length, 120);
      assert.match(link ?? '', /^<\/events\?limit=120&order=desc&after=[A-Za-z0-9_-]+>; rel="next"$/);
    });

    it('refuses all=true beside limit, and all with another value, with 400', async () => {
      for (const [query, message] of [['all=true&limit=5', /^Give limit or all=true, not both/], ['all=1', /^all must be true or false, not "1"$/]] as const) {
        const response = await server.get(query);
        assert.equal(response.status, 400);
        assert.match(await errorMessage(response), message);
      }
    });
  });
});
