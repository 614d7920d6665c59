import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { negotiate } from '../../src/http/negotiate.js';
import { throwsHttpError } from '../helpers/throws-http-error.js';

const OFFERED = ['application/json', 'application/x-ndjson', 'text/csv'] as const;

describe('negotiate', () => {
  it('picks what the Accept header prefers among what is offered', () => {
    assert.equal(negotiate(undefined, OFFERED), 'application/json');
    assert.equal(negotiate('*/*', OFFERED), 'application/json');
    assert.equal(negotiate('text/csv', OFFERED), 'text/csv');
    assert.equal(negotiate('application/x-ndjson', OFFERED), 'application/x-ndjson');
    assert.equal(negotiate('text/*', OFFERED), 'text/csv');
    assert.equal(negotiate('application/json;q=0.5, text/csv', OFFERED), 'text/csv');
    assert.equal(negotiate('text/html, application/xhtml+xml, */*;q=0.8', OFFERED), 'application/json');
    assert.equal(negotiate('*/*;q=0.1, application/x-ndjson;q=0.9', OFFERED), 'application/x-ndjson');
  });

  it('answers 406 when nothing offered is acceptable', () => {
    throwsHttpError(() => negotiate('text/html', OFFERED), 406, /available: application\/json, application\/x-ndjson, text\/csv/);
    throwsHttpError(() => negotiate('application/json;q=0', OFFERED), 406, /Cannot answer/);
  });
});
