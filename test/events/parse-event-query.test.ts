import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oneEditApart } from '../../src/events/one-edit-apart.js';
import { DEFAULT_CROSS_USER_LIMIT, parseEventQuery, parseSummaryQuery } from '../../src/events/parse-event-query.js';
import { encodeCursor } from '../../src/events/cursor.js';
import { throwsHttpError } from '../helpers/throws-http-error.js';

const parse = (query: string) => parseEventQuery(new URLSearchParams(query));

function rejects(query: string, message: RegExp): void {
  throwsHttpError(() => parse(query), 400, message);
}

describe('parseEventQuery', () => {
  it('reads user_id, any-of event types and dotted data filters', () => {
    assert.deepEqual(parse('user_id=u&event_type=login&event_type=logout&address.city=Paris&ip=1&ip=2'), {
      userId: 'u',
      eventTypes: ['login', 'logout'],
      dataFilters: [
        { path: ['address', 'city'], values: ['Paris'] },
        { path: ['ip'], values: ['1', '2'] },
      ],
      order: 'asc',
    });
  });

  it('reads since, until, order, limit and after', () => {
    const after = encodeCursor({ timestampMs: 1_700_000_000_000, seq: 42 });
    assert.deepEqual(parse(`user_id=u&since=2026-11-01&until=2026-11-02T10:00:00%2B01:00&order=desc&limit=50&after=${after}`), {
      userId: 'u',
      eventTypes: [],
      dataFilters: [],
      order: 'desc',
      since: Date.UTC(2026, 10, 1),
      until: Date.UTC(2026, 10, 2, 9),
      limit: 50,
      after: { timestampMs: 1_700_000_000_000, seq: 42 },
    });
  });

  it('refuses a malformed or repeated shaping parameter with a 400 that names it', () => {
    rejects('user_id=u&since=yesterday', /^since must be an ISO 8601 instant/);
    rejects('user_id=u&until=2026-11-26T10:00:00', /^until must be an ISO 8601 instant/);
    rejects('user_id=u&since=2026-02-30', /^since must be/);
    rejects('user_id=u&since=2026-11-02&until=2026-11-01', /since must not be later than until/);
    rejects('user_id=u&order=newest', /^order must be asc or desc/);
    for (const limit of ['0', '10001', '-1', '1.5', 'ten', '']) rejects(`user_id=u&limit=${limit}`, /^limit must be a whole number from 1 to 10000/);
    rejects('user_id=u&after=not-a-cursor!', /^after must be a cursor/);
    rejects(`user_id=u&after=${Buffer.from('v1:x:1').toString('base64url')}`, /^after must be a cursor/);
    for (const name of ['since', 'until', 'order', 'limit', 'after']) rejects(`user_id=u&${name}=a&${name}=b`, new RegExp(`^${name} may be given only once$`));
  });

  it('reads data.<name> as a data filter, so data fields may share a reserved name', () => {
    assert.deepEqual(parse('user_id=u&data.limit=5&data.user_id=x&data.address.city=Paris&city=Lyon').dataFilters, [
      { path: ['limit'], values: ['5'] },
      { path: ['user_id'], values: ['x'] },
      { path: ['address', 'city'], values: ['Paris'] },
      { path: ['city'], values: ['Lyon'] },
    ]);
    // The same field named both ways is one filter: any of the values.
    assert.deepEqual(parse('user_id=u&ip=1&data.ip=2').dataFilters, [{ path: ['ip'], values: ['1', '2'] }]);
    rejects('user_id=u&data=x', /data\.<field>/);
    rejects('user_id=u&data.=x', /not a field name/);
  });

  it('allows any characters in a field name but an empty segment or NUL', () => {
    assert.deepEqual(parse('user_id=u&%22a%20b%22%5B0%5D=x').dataFilters, [{ path: ['"a b"[0]'], values: ['x'] }]);
    assert.deepEqual(parse('user_id=u&a=').dataFilters, [{ path: ['a'], values: [''] }]);
    rejects('user_id=u&a..b=1', /not a field name/);
    rejects('user_id=u&.a=1', /not a field name/);
    rejects('user_id=u&a.=1', /not a field name/);
    rejects('user_id=u&=1', /not a field name/);
    rejects('user_id=u&a%00b=1', /U\+0000/);
  });

  it('refuses U+0000 in any value, which no stored event can hold', () => {
    rejects('user_id=a%00', /must not contain U\+0000/);
    rejects('user_id=a&event_type=t%00', /must not contain U\+0000/);
    rejects('user_id=a&data.x=%00', /must not contain U\+0000/);
  });

  it('takes at most one non-empty user_id and non-empty event types', () => {
    rejects('user_id=', /^user_id must not be empty$/);
    rejects('user_id=a&user_id=b', /only once/);
    rejects('user_id=a&event_type=', /event_type must not be empty/);
  });

  it(`answers a query across users with a first page of ${DEFAULT_CROSS_USER_LIMIT} unless limit or all=true says otherwise; one user's in full`, () => {
    assert.deepEqual(parse(''), { eventTypes: [], dataFilters: [], order: 'asc', limit: DEFAULT_CROSS_USER_LIMIT });
    assert.deepEqual(parse('event_type=login&event_type=logout&ip=1.2.3.4'), {
      eventTypes: ['login', 'logout'], dataFilters: [{ path: ['ip'], values: ['1.2.3.4'] }], order: 'asc', limit: DEFAULT_CROSS_USER_LIMIT,
    });
    assert.equal(parse('limit=7').limit, 7);
    assert.equal(parse('all=true').limit, undefined);
    assert.equal(parse('all=false').limit, DEFAULT_CROSS_USER_LIMIT);
    assert.equal(parse('user_id=u').limit, undefined);
    assert.equal(parse('user_id=u&all=true').limit, undefined);
    rejects('all=yes', /^all must be true or false, not "yes"$/);
    rejects('all=true&limit=5', /^Give limit or all=true, not both/);
    rejects('all=true&all=true', /only once/);
  });

  it('takes names close to all as data fields (call, wall, al), but not its case or punctuation variants', () => {
    assert.deepEqual(parse('call=1&wall=2&al=3').dataFilters.map((filter) => filter.path), [['call'], ['wall'], ['al']]);
    rejects('ALL=true', /^Unknown parameter "ALL": did you mean "all"\?/);
    rejects('all%5B%5D=true', /^Unknown parameter "all\[\]": did you mean "all"\?/);
  });

  it('refuses the other route\'s parameters by name: group_by on /events, limit, after and all on /events/summary', () => {
    rejects('group_by=day', /^group_by is not a parameter of \/events; to filter on a data field of that name, write data\.group_by$/);
    for (const name of ['limit', 'after', 'all']) {
      throwsHttpError(() => parseSummaryQuery(new URLSearchParams(`group_by=day&${name}=1`)), 400,
        new RegExp(`^${name} is not a parameter of /events/summary; to filter on a data field of that name, write data\\.${name}$`));
    }
  });

  it('reads a summary\'s group_by, required and one of four, beside the filters of /events', () => {
    assert.deepEqual(parseSummaryQuery(new URLSearchParams('group_by=hour&event_type=login&since=2026-11-26T00:00:00Z&order=desc&ip=1')), {
      groupBy: 'hour',
      query: { eventTypes: ['login'], dataFilters: [{ path: ['ip'], values: ['1'] }], order: 'desc', since: Date.parse('2026-11-26T00:00:00Z') },
    });
    for (const [text, message] of [
      ['', /^group_by is required: one of event_type, user_id, hour, day$/],
      ['group_by=week', /^group_by must be one of event_type, user_id, hour, day, not "week"$/],
      ['group_by=day&group_by=hour', /only once/],
      ['group_by=day&user_id=', /user_id must not be empty/],
      ['group_by=day&groupby=x', /^Unknown parameter "groupby": did you mean "group_by"\?/],
    ] as const) {
      throwsHttpError(() => parseSummaryQuery(new URLSearchParams(text)), 400, message);
    }
  });

  it('refuses a name one edit away from a reserved parameter, saying which one was likely meant', () => {
    for (const [query, meant, name] of [
      ['user_id=u&ordr=desc', 'order', 'ordr'],
      ['user_id=u&limt=5', 'limit', 'limt'],
      ['user_id=u&oredr=desc', 'order', 'oredr'],
      ['user_id=u&Limit=5', 'limit', 'Limit'],
      ['user_id=u&orders=1', 'order', 'orders'],
      ['user_id=u&event_types=login', 'event_type', 'event_types'],
      ['userid=u', 'user_id', 'userid'],
      ['user_id=u&sinse=2026-11-01', 'since', 'sinse'],
      ['user_id=u&ORDER=desc', 'order', 'ORDER'],
      ['user_id=u&eventType=login', 'event_type', 'eventType'],
      ['user_id=u&Event-Type=login', 'event_type', 'Event-Type'],
      ['USER_ID=u', 'user_id', 'USER_ID'],
    ] as const) {
      rejects(query, new RegExp(`^Unknown parameter "${name}": did you mean "${meant}"\\? To filter on a data field of that name, write data\\.${name}$`));
    }
    rejects('user_id=u&limit%5B%5D=5', /^Unknown parameter "limit\[\]": did you mean "limit"\?/);
  });

  it('still filters a data field named like a typo when it is written data.<name>, a dotted path, and names two edits away', () => {
    assert.deepEqual(parse('user_id=u&data.ordr=desc&user.id=x&orderly=1').dataFilters, [
      { path: ['ordr'], values: ['desc'] },
      { path: ['user', 'id'], values: ['x'] },
      { path: ['orderly'], values: ['1'] },
    ]);
  });
});

describe('oneEditApart', () => {
  it('counts one insertion, removal, replacement or swap of neighbours, and nothing more', () => {
    for (const [a, b] of [['order', 'ordr'], ['order', 'orders'], ['order', 'oder'], ['order', 'Order'], ['order', 'oredr'], ['aa', 'aaa'], ['ab', 'aab'], ['', 'x']] as const) {
      assert.equal(oneEditApart(a, b), true, `${a} ${b}`);
      assert.equal(oneEditApart(b, a), true, `${b} ${a}`);
    }
    for (const [a, b] of [['order', 'order'], ['order', 'orderly'], ['order', 'odrer2'], ['limit', 'lmiti'], ['abc', 'cba'], ['', 'xy'], ['since', 'until']] as const) {
      assert.equal(oneEditApart(a, b), false, `${a} ${b}`);
      assert.equal(oneEditApart(b, a), false, `${b} ${a}`);
    }
  });
});
