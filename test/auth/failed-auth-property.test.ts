import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { generateKey, hashKey, writeKeysFile } from '../../src/auth/keys-file.js';
import { createRateLimiter, type RateLimiter } from '../../src/auth/rate-limiter.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

const KEYS = { billing: generateKey(), analyst: generateKey(), AUDITOR_API_KEY: TEST_API_KEY };
type KeyName = keyof typeof KEYS;

/** One request of a run: a known key doing what its scope allows or not, or a key that fails. */
type Step =
  | { kind: 'valid'; key: KeyName; method: 'GET' | 'POST' }
  | { kind: 'wrong-scope'; key: 'billing' | 'analyst' }
  | { kind: 'failing'; header: string | undefined };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constantFrom<Step>(
    { kind: 'valid', key: 'billing', method: 'POST' },
    { kind: 'valid', key: 'analyst', method: 'GET' },
    { kind: 'valid', key: 'AUDITOR_API_KEY', method: 'GET' },
    { kind: 'valid', key: 'AUDITOR_API_KEY', method: 'POST' },
    { kind: 'wrong-scope', key: 'billing' },
    { kind: 'wrong-scope', key: 'analyst' },
  ),
  fc.oneof(
    fc.constant(undefined),
    fc.constant(''),
    fc.constant(`${KEYS.billing}x`),
    fc.constant(`${KEYS.analyst}, ${KEYS.analyst}`), // a repeated header, as Node joins it
    fc.string({ minLength: 1, maxLength: 40 }).filter((text) => /^[\x21-\x7e]+$/.test(text)),
  ).map((header): Step => ({ kind: 'failing', header })),
);

/** A limiter whose buckets the test replaces before each run, so every run starts afresh. */
function swappable(): { limiter: RateLimiter; reset(burst: number): void } {
  let current = createRateLimiter({ ratePerSecond: 1, burst: 1 });
  return {
    limiter: { take: (name) => current.take(name), wait: (name) => current.wait(name) },
    // A clock that stands still: no token comes back during a run, so the model below is exact.
    reset: (burst) => (current = createRateLimiter({ ratePerSecond: 1, burst, now: () => 0 })),
  };
}

describe('failing and valid keys from one address', () => {
  let dir: string;
  let server: TestServer;
  const failedAuth = swappable();
  const perKey = swappable();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-auth-property-'));
    const keysFile = join(dir, 'keys.json');
    const createdAt = new Date().toISOString();
    writeKeysFile(keysFile, [
      { name: 'billing', scope: 'ingest', sha256: hashKey(KEYS.billing), createdAt },
      { name: 'analyst', scope: 'read', sha256: hashKey(KEYS.analyst), createdAt },
    ]);
    server = await startTestServer({ keysFile, limits: { failedAuth: failedAuth.limiter, perKey: perKey.limiter } });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never refuses a valid request for failures: only failing requests over the budget get 429', async () => {
    let failingOverBudget = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 6 }), async (steps, failBudget, keyBudget) => {
        failedAuth.reset(failBudget);
        perKey.reset(keyBudget);
        let failures = 0;
        const used = new Map<KeyName, number>();
        for (const [i, s] of steps.entries()) {
          const key = s.kind === 'failing' ? s.header : KEYS[s.key];
          const method = s.kind === 'valid' ? s.method : s.kind === 'wrong-scope' ? (s.key === 'billing' ? 'GET' : 'POST') : i % 2 === 0 ? 'GET' : 'POST';
          const response = await fetch(`${server.url}/events${method === 'GET' ? '?user_id=property' : ''}`, {
            method,
            headers: { 'Content-Type': 'application/json', ...(key === undefined ? {} : { 'X-API-Key': key }) },
            ...(method === 'POST' ? { body: JSON.stringify({ user_id: 'property', event_type: 'step' }) } : {}),
          });
          const where = `step ${i + 1} (${JSON.stringify(s)})`;
          if (s.kind === 'failing') {
            const overBudget = failures >= failBudget;
            failures++;
            if (overBudget) failingOverBudget++;
            assert.equal(response.status, overBudget ? 429 : 401, where);
            assert.match(await errorMessage(response), overBudget ? /^Too many failed authentications from this address/ : /^(Missing API key: send it in X-API-Key, or as Authorization: Bearer <key>|Invalid API key)$/, where);
          } else if (s.kind === 'wrong-scope') {
            assert.equal(response.status, 403, where);
            assert.match(await errorMessage(response), new RegExp(`^The key "${s.key}" has scope`), where);
          } else {
            // Failures before this request, however many, play no part: only the key's own use does.
            const ownUse = used.get(s.key) ?? 0;
            used.set(s.key, ownUse + 1);
            if (ownUse >= keyBudget) {
              assert.equal(response.status, 429, where);
              assert.match(await errorMessage(response), new RegExp(`^Too many requests with the key "${s.key}"`), where);
            } else {
              assert.equal(response.status, method === 'POST' ? 201 : 200, `${where}, after ${failures} failures`);
              assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
              await response.json();
            }
          }
        }
      }),
      { numRuns: 60 },
    );
    assert.ok(failingOverBudget > 0, 'some runs spent the failure budget');
  });
});
