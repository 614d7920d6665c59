import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSavedEvent } from '../../verifier/event-data.js';

const HEAD = '"id":"0190a0b1-0000-7000-8000-000000000001","timestamp":"2025-01-01T00:00:00.000Z","user_id":"u1","event_type":"login"';
const FIELDS = { id: '0190a0b1-0000-7000-8000-000000000001', timestamp: '2025-01-01T00:00:00.000Z', userId: 'u1', eventType: 'login' };

/** Puts white space between every two tokens outside strings, as a pretty-printer would, and more. */
function spread(json: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += json[++i]!;
      else if (c === '"') inString = false;
    } else {
      if (c === '"') inString = true;
      out += '{[,:'.includes(c) ? `${c}\r\n\t ` : '}]'.includes(c) ? `\n ${c}` : c;
    }
  }
  return ` \n${out}\n`;
}

describe('reading a saved event', () => {
  const data = '{"amount":1.50,"big":12345678901234567890,"note":"a  b, {c}: [d]","quote":"say \\"hi\\" \\\\","list":[1,-2e+3,true,null,{"x":"\\u00e9"}],"empty":{}}';

  it('returns the members and the raw text of data, numbers and escapes spelt as written', () => {
    assert.deepEqual(readSavedEvent(`{${HEAD},"data":${data}}`), { ...FIELDS, dataText: data });
  });

  it('gives the same data text for a copy with white space between every token, and keeps the white space inside strings', () => {
    assert.deepEqual(readSavedEvent(spread(`{${HEAD},"data":${data}}`)), { ...FIELDS, dataText: data });
  });

  it('reads the record of a removed payload beside data null', () => {
    const removed = { reason: 'erasure', at: '2026-11-28T10:00:00.000Z', by: '0190a000-0000-7000-8000-000000000000' };
    assert.deepEqual(readSavedEvent(`{${HEAD},"data":null,"removed":${JSON.stringify(removed)}}`), { ...FIELDS, dataText: 'null', removed });
  });

  it('finds data wherever it stands among the members, after strings holding quotes, braces and commas', () => {
    const tricky = '"user_id":"a\\"},{\\"data\\":1","event_type":"\\\\"';
    for (const [text, dataText] of [
      [`{"data":${data},"id":"i","timestamp":"t",${tricky}}`, data],
      [`{"id":"i","data" : "a string: {not an object}" ,"timestamp":"t",${tricky}}`, '"a string: {not an object}"'],
      [`{"id":"i","timestamp":"t",${tricky},"data":12.50}`, '12.50'],
      [`{"id":"i","timestamp":"t",${tricky},"data":\nnull\n}`, 'null'],
      [`{"id":"i","timestamp":"t",${tricky},"data":[ ]}`, '[]'],
    ] as const) {
      assert.deepEqual(readSavedEvent(text), { id: 'i', timestamp: 't', userId: 'a"},{"data":1', eventType: '\\', dataText }, text);
    }
  });

  for (const [what, text, reason] of [
    ['text that is not JSON', '{"id":', /^it is not JSON \(/],
    ['an array of events', `[{${HEAD},"data":{}}]`, /^it is not one event object but an array$/],
    ['null', 'null', /^it is not one event object but null$/],
    ['a string', '"event"', /^it is not one event object but a string$/],
    ['an event without data', `{${HEAD}}`, /^it has no "data" member$/],
    ['an event without a timestamp', '{"id":"i","user_id":"u","event_type":"t","data":{}}', /^it has no "timestamp" member$/],
    ['an event whose user_id is a number', '{"id":"i","timestamp":"t","user_id":7,"event_type":"t","data":{}}', /^its "user_id" is not a string$/],
    ['an event with a member events do not have', `{${HEAD},"data":{},"seq":3}`, /^it has a member "seq" that an event does not have \(id, timestamp, user_id, event_type, data, removed\)$/],
    ['an event whose removal is not reason, at and by', `{${HEAD},"data":null,"removed":{"reason":"retention"}}`, /^its "removed" is not an object of reason, at and by$/],
    ['an event with data twice', `{${HEAD},"data":{"a":1},"data":{"a":2}}`, /^it has the member "data" twice$/],
    ['an event with its id twice', `{${HEAD},"id":"other","data":{}}`, /^it has the member "id" twice$/],
  ] as const) {
    it(`refuses ${what}, saying why`, () => {
      assert.throws(() => readSavedEvent(text), { message: reason });
    });
  }
});
