import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { JsonShapeError, readObjectMembers } from '../../src/events/json-members.js';

describe('readObjectMembers', () => {
  it('returns each top-level member as the client spelled it, minus white space', () => {
    const text = '{ "a" : 1.50 ,\n\t"b": [ 1 , {"c" : "x y"} ] , "big": 12345678901234567890, "e": 1E+2 }';
    const members = readObjectMembers(text, 10);
    assert.deepEqual([...members], [
      ['a', '1.50'],
      ['b', '[1,{"c":"x y"}]'],
      ['big', '12345678901234567890'],
      ['e', '1E+2'],
    ]);
  });

  it('keeps white space, quotes and escapes inside strings untouched', () => {
    const text = '{"s": "  a \\" b \\\\", "t": "caf\\u00e9 \\n", "u":"\\\\"}';
    const members = readObjectMembers(text, 10);
    assert.equal(members.get('s'), '"  a \\" b \\\\"');
    assert.equal(members.get('t'), '"caf\\u00e9 \\n"');
    assert.equal(members.get('u'), '"\\\\"');
  });

  it('reads an empty object as having no members', () => {
    assert.deepEqual([...readObjectMembers('{}', 10)], []);
    assert.deepEqual([...readObjectMembers(' { } ', 10)], []);
    assert.deepEqual([...readObjectMembers('{"d":{}}', 10)], [['d', '{}']]);
  });

  it('refuses a duplicate key at any depth, including one spelled with escapes', () => {
    assert.throws(() => readObjectMembers('{"a":1,"a":2}', 10), JsonShapeError);
    assert.throws(() => readObjectMembers('{"a":{"x":1,"y":{"z":1,"z":2}}}', 10), /duplicate property "z"/);
    assert.throws(() => readObjectMembers('{"a":1,"\\u0061":2}', 10), /duplicate property "a"/);
    // The same key in sibling objects is not a duplicate.
    assert.equal(readObjectMembers('{"a":[{"k":1},{"k":2}]}', 10).get('a'), '[{"k":1},{"k":2}]');
  });

  it('refuses nesting deeper than the limit, however deep', () => {
    assert.equal(readObjectMembers('{"a":[[1]]}', 3).get('a'), '[[1]]');
    assert.throws(() => readObjectMembers('{"a":[[[1]]]}', 3), /deeper than 3/);
    const deep = `{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    assert.throws(() => readObjectMembers(deep, 64), JsonShapeError);
  });

  it('yields for any JSON object members that parse back to the same values', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.boolean(), (object, pretty) => {
        const text = JSON.stringify(object, null, pretty ? 2 : undefined);
        const members = readObjectMembers(text, 1000);
        assert.deepEqual(Object.fromEntries([...members].map(([k, v]) => [k, JSON.parse(v)])), JSON.parse(text));
        for (const value of members.values()) assert.ok(!/\n/.test(value), 'minified text has no line breaks');
      }),
    );
  });
});
