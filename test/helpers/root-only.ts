import type { TestContext } from 'node:test';

/**
 * Skips a test that needs root here (to mount a small file system, to make a file immutable), with
 * the reason the helper gave. Under AUDITOR_REQUIRE_ROOT_TESTS=1, as in CI (which runs as root),
 * it fails the test instead: these are the only direct proofs of what a full disk does, and a
 * skip there would go unnoticed.
 */
export function skipWithoutRoot(t: TestContext, reason: string): void {
  if (process.env.AUDITOR_REQUIRE_ROOT_TESTS === '1') {
    throw new Error(`${reason}; AUDITOR_REQUIRE_ROOT_TESTS=1 requires this test to run (run the tests as root)`);
  }
  t.skip(reason);
}
