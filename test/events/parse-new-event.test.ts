import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_DATA_DEPTH, MAX_NAME_LENGTH, parseNewEvent } from '../../src/events/parse-new-event.js';
import { MAX_EXPONENT_DIGITS, MAX_NUMBER_DIGITS } from '../../src/events/storable-data.js';
import { throwsHttpError } from '../helpers/throws-http-error.js';

function rejects(body: string, message: RegExp): void {
  throwsHttpError(() => parseNewEvent(body), 400, message);
}

describe('parseNewEvent', () => {
  it('accepts an event and keeps data as written', () => {
    assert.deepEqual(parseNewEvent('{"user_id":"u1","event_type":"login","data":{"n": 1.50}}'), {
      userId: 'u1',
      eventType: 'login',
      dataJson: '{"n":1.50}',
    });
  });

  it('stores a missing data as an empty object', () => {
    assert.equal(parseNewEvent('{"user_id":"u","event_type":"t"}').dataJson, '{}');
  });

  it('names the text it was given by the subject it is told, the request body by default', () => {
    for (const [subject, named] of [[undefined, 'Request body'], ['The event', 'The event']] as const) {
      const parse = (text: string) => () => parseNewEvent(text, subject);
      throwsHttpError(parse('[]'), 400, new RegExp(`^${named} must be a JSON object with user_id, event_type and optional data$`));
      throwsHttpError(parse('{"user_id":"u","user_id":"v","event_type":"t"}'), 400, new RegExp(`^${named} has a duplicate property "user_id"$`));
      throwsHttpError(parse('{"user_id":'), 400, new RegExp(`^${named} is not valid JSON: `));
    }
  });

  it('names what is wrong with each bad body', () => {
    rejects('', /not valid JSON: the body is empty/);
    rejects('{"user_id":', /not valid JSON/);
    rejects('[]', /must be a JSON object/);
    rejects('null', /must be a JSON object/);
    rejects('"text"', /must be a JSON object/);
    rejects('{"event_type":"t"}', /^user_id is required$/);
    rejects('{"user_id":"u"}', /^event_type is required$/);
    rejects('{"user_id":7,"event_type":"t"}', /^user_id must be a string$/);
    rejects('{"user_id":"u","event_type":null}', /^event_type must be a string$/);
    rejects('{"user_id":"","event_type":"t"}', /^user_id must not be empty$/);
    rejects(`{"user_id":"${'x'.repeat(MAX_NAME_LENGTH + 1)}","event_type":"t"}`, /at most 512 characters/);
    rejects('{"user_id":"\\ud800","event_type":"t"}', /well-formed Unicode/);
    rejects('{"user_id":"u","event_type":"t","data":[1]}', /data must be a JSON object/);
    rejects('{"user_id":"u","event_type":"t","data":null}', /data must be a JSON object/);
    rejects('{"user_id":"u","event_type":"t","data":"x"}', /data must be a JSON object/);
    rejects('{"user_id":"u","event_type":"t","extra":1}', /Unknown property "extra"/);
    rejects('{"user_id":"u","event_type":"t","__proto__":{}}', /Unknown property "__proto__"/);
    rejects('{"user_id":"u","user_id":"v","event_type":"t"}', /duplicate property "user_id"/);
  });

  it(`accepts data nested ${MAX_DATA_DEPTH} levels deep and refuses one level more`, () => {
    const nested = (levels: number): string => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
    assert.equal(parseNewEvent(`{"user_id":"u","event_type":"t","data":${nested(MAX_DATA_DEPTH)}}`).dataJson, nested(MAX_DATA_DEPTH));
    rejects(`{"user_id":"u","event_type":"t","data":${nested(MAX_DATA_DEPTH + 1)}}`, /^data is nested more than 64 levels deep \(data itself is level 1\): flatten it$/);
  });

  it('refuses what a database could not store faithfully, in names and anywhere in data', () => {
    const event = (data: string): string => `{"user_id":"u","event_type":"t","data":${data}}`;
    rejects('{"user_id":"a\\u0000b","event_type":"t"}', /^user_id must not contain U\+0000$/);
    rejects('{"user_id":"u","event_type":"\\udc00"}', /^event_type must be well-formed Unicode/);
    rejects(event('{"a":{"b":["x\\u0000"]}}'), /^data has a string that must not contain U\+0000$/);
    rejects(event('{"a":"\\uD83D"}'), /^data has a string that must be well-formed Unicode/);
    rejects(event('{"\\u0000":1}'), /^data has a property name that must not contain U\+0000$/);
    rejects(event(`{"n":${'1'.repeat(MAX_NUMBER_DIGITS + 1)}}`), /^data has a number longer than/);
    rejects(event(`{"n":1e${'1'.repeat(MAX_EXPONENT_DIGITS + 1)}}`), /^data has a number .* exponent/);
  });

  it('accepts the near misses of those rules as written', () => {
    const accepted = [
      '{"s":"\\\\u0000 is spelled out, not a NUL"}', // an escaped backslash, then plain text
      '{"pair":"\\uD83D\\uDE00","nul":"\\u0001"}',
      `{"n":${'9'.repeat(MAX_NUMBER_DIGITS - 2)}.5}`,
      `{"n":-1.5e-${'9'.repeat(MAX_EXPONENT_DIGITS)}}`,
      `{"digits":"${'1'.repeat(MAX_NUMBER_DIGITS + 1)}","e":"1e99999"}`, // long, but strings
    ];
    for (const data of accepted) {
      assert.equal(parseNewEvent(`{"user_id":"u","event_type":"t","data":${data}}`).dataJson, data);
    }
  });
});
