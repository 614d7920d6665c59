import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { errorMessage, startTestServer, type TestServer } from '../helpers/test-server.js';

type ApiEvent = { id: string; timestamp: string; user_id: string; event_type: string; data: Record<string, unknown> };

describe('GET /events', () => {
  let server: TestServer;
  const ids: string[] = [];

  before(async () => {
    server = await startTestServer();
    const events = [
      { user_id: 'alice', event_type: 'login', data: { ip: '1.1.1.1', amount: 100, ok: true, address: { city: 'Paris' } } },
      { user_id: 'alice', event_type: 'logout', data: { ip: '2.2.2.2', amount: '100', ok: false } },
      { user_id: 'alice', event_type: 'login', data: { ip: '2.2.2.2', amount: 250, address: { city: 'Lyon' } } },
      { user_id: 'bob', event_type: 'login', data: { ip: '1.1.1.1', amount: 100 } },
      { user_id: 'alice', event_type: 'purchase', data: { 'a.b': 'dotted key', 'odd "name"': 'quoted', user: { 'id': 'x' } } },
    ];
    for (const event of events) {
      const response = await server.post(event);
      assert.equal(response.status, 201);
      ids.push(((await response.json()) as { id: string }).id);
    }
  });
  after(() => server.close());

  async function find(query: string): Promise<ApiEvent[]> {
    const response = await server.get(query);
    assert.equal(response.status, 200, `${query}: ${response.status}`);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    return (await response.json()) as ApiEvent[];
  }
  const idsOf = (events: ApiEvent[]) => events.map((e) => ids.indexOf(e.id));

  it('returns the user\'s events oldest first in the five-field shape', async () => {
    const events = await find('user_id=alice');
    assert.deepEqual(idsOf(events), [0, 1, 2, 4]);
    const first = events[0]!;
    assert.deepEqual(Object.keys(first), ['id', 'timestamp', 'user_id', 'event_type', 'data']);
    assert.match(first.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(first.timestamp) - Date.now()) < 60_000);
    assert.deepEqual(first.data, { ip: '1.1.1.1', amount: 100, ok: true, address: { city: 'Paris' } });
    const timestamps = events.map((e) => e.timestamp);
    assert.deepEqual([...timestamps].sort(), timestamps);
  });

  it('answers [] when nothing matches', async () => {
    const response = await server.get('user_id=nobody');
    assert.equal(response.status, 200);
    assert.equal(await response.text(), '[]');
  });

  it('filters by event_type', async () => {
    assert.deepEqual(idsOf(await find('user_id=alice&event_type=login')), [0, 2]);
    assert.deepEqual(idsOf(await find('user_id=alice&event_type=login&event_type=purchase')), [0, 2, 4]);
  });

  it('filters by data fields, ANDed, as text against strings, numbers and booleans', async () => {
    assert.deepEqual(idsOf(await find('user_id=alice&ip=2.2.2.2')), [1, 2]);
    assert.deepEqual(idsOf(await find('user_id=alice&amount=100')), [0, 1]);
    assert.deepEqual(idsOf(await find('user_id=alice&ok=true')), [0]);
    assert.deepEqual(idsOf(await find('user_id=alice&ok=false')), [1]);
    assert.deepEqual(idsOf(await find('user_id=alice&ip=2.2.2.2&amount=250')), [2]);
    assert.deepEqual(idsOf(await find('user_id=alice&event_type=login&ip=2.2.2.2')), [2]);
    assert.deepEqual(idsOf(await find('user_id=alice&ip=1.1.1.1&ip=2.2.2.2&event_type=logout')), [1]);
  });

  it('reaches nested fields with dots; an absent field never matches', async () => {
    assert.deepEqual(idsOf(await find('user_id=alice&address.city=Paris')), [0]);
    assert.deepEqual(idsOf(await find('user_id=alice&user.id=x')), [4]);
    assert.deepEqual(idsOf(await find('user_id=alice&missing=x')), []);
    assert.deepEqual(idsOf(await find('user_id=alice&address.city.more=Paris')), []);
    assert.deepEqual(idsOf(await find('user_id=alice&address=Paris')), []);
  });

  it('compares a number by its spelling, and never matches an array, object or null field', async () => {
    const posted = await server.post(
      '{"user_id":"carol","event_type":"t","data":{"price":1.50,"big":12345678901234567890,"exp":1e2,"neg":-0,' +
        '"tags":["a"],"obj":{"a":1},"none":null,"text":"1.50","flag":true}}',
    );
    assert.equal(posted.status, 201);
    const matches = async (query: string): Promise<boolean> => (await find(`user_id=carol&${query}`)).length === 1;
    for (const query of ['price=1.50', 'big=12345678901234567890', 'exp=1e2', 'neg=-0', 'text=1.50', 'flag=true']) {
      assert.equal(await matches(query), true, query);
    }
    for (const query of ['price=1.5', 'big=12345678901234567000', 'exp=100', 'neg=0', 'text=1.5', 'flag=1', 'tags=a', 'obj.a=2', 'none=null', 'obj={"a":1}']) {
      assert.equal(await matches(query), false, query);
    }
    assert.equal(await matches('obj.a=1'), true);
    // Numbers no event can hold match nothing, and are no error for the database either.
    for (const query of ['price=1e999999', `big=${'9'.repeat(1001)}`]) assert.equal(await matches(query), false, query);
  });

  it('finds integers at and beyond 2^53 exactly as written, and never their neighbours', async () => {
    // Snowflake-style ids and the edges of 64-bit integers, each with a neighbour a double cannot
    // tell apart from it.
    const numbers = [
      '9007199254740993', // 2^53 + 1
      '1798234759182737409',
      '1798234759182737408',
      '9223372036854775807', // 2^63 - 1
      '-9223372036854775808', // -2^63
      '9223372036854775809', // past 64 bits
      '18446744073709551617', // 2^64 + 1
    ];
    for (const n of numbers) assert.equal((await server.post(`{"user_id":"snowflake","event_type":"t","data":{"account_id":${n}}}`)).status, 201);
    for (const n of numbers) {
      const response = await server.get(`user_id=snowflake&account_id=${n}`);
      assert.equal(response.status, 200, n);
      const text = await response.text();
      assert.equal((JSON.parse(text) as unknown[]).length, 1, `${n}: ${text}`);
      assert.ok(text.includes(`"data":{"account_id":${n}}`), `${n}: ${text}`);
    }
    for (const n of ['9007199254740992', '9007199254740994', '1798234759182737410', '9223372036854775806', '9223372036854775808', '18446744073709551616']) {
      assert.deepEqual(await find(`user_id=snowflake&account_id=${n}`), [], n);
    }
  });

  it('filters on unusual field names safely', async () => {
    assert.deepEqual(idsOf(await find(`user_id=alice&${encodeURIComponent('odd "name"')}=quoted`)), [4]);
    assert.deepEqual(idsOf(await find(`user_id=alice&${encodeURIComponent("x'); DROP TABLE events;--")}=1`)), []);
    assert.equal((await find('user_id=alice')).length, 4);
  });

  it('refuses an empty or repeated user_id and an unusable field name with 400', async () => {
    for (const [query, message] of [
      ['user_id=', /must not be empty/],
      ['user_id=a&user_id=b', /only once/],
      ['user_id=alice&a..b=1', /not a field name/],
      ['user_id=alice&event_type=', /event_type must not be empty/],
      ['user_id=alice&ordr=desc', /^Unknown parameter "ordr": did you mean "order"\? To filter on a data field of that name, write data\.ordr$/],
      ['user_id=alice&limt=5', /^Unknown parameter "limt": did you mean "limit"\?/],
    ] as const) {
      const response = await server.get(query);
      assert.equal(response.status, 400, query);
      assert.match(await errorMessage(response), message);
    }
  });

  it('answers arbitrary query strings with 200 or 400, never a 5xx', async () => {
    const part = fc.string({ unit: 'binary', maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(part, part), { maxLength: 6 }), fc.boolean(), async (pairs, withUser) => {
        const params = new URLSearchParams(pairs);
        if (withUser) params.set('user_id', 'alice');
        const response = await server.get(params.toString());
        assert.ok(response.status === 200 || response.status === 400, `${response.status} for ${params}`);
        if (response.status === 200) assert.ok(Array.isArray(await response.json()));
        else await errorMessage(response);
      }),
      { numRuns: 200 },
    );
  });
});
