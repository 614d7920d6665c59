import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEventQuery } from '../../src/events/parse-event-query.js';
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
    });
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

  it('requires exactly one non-empty user_id and non-empty event types', () => {
    rejects('', /^user_id is required$/);
    rejects('event_type=login', /^user_id is required$/);
    rejects('user_id=', /^user_id must not be empty$/);
    rejects('user_id=a&user_id=b', /only once/);
    rejects('user_id=a&event_type=', /event_type must not be empty/);
  });
});
