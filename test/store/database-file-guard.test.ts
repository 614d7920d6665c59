import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { createJsonLogger } from '../../src/ops/logger.js';
import { guardDatabaseFiles } from '../../src/store/sqlite/database-file-guard.js';
import { databaseFiles, readFileIdentity } from '../../src/store/sqlite/database-files.js';

describe('the guard of the SQLite database files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-guard-'));
    mock.timers.enable({ apis: ['setInterval'] });
  });
  afterEach(() => {
    mock.timers.reset();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tries a failed copy of the lost database again at every check until one succeeds, never advising a restart before', async () => {
    const path = join(dir, 'auditor.db');
    for (const file of databaseFiles(path)) writeFileSync(file, '');
    const lines: Array<Record<string, unknown>> = [];
    const log = createJsonLogger((text) => lines.push(JSON.parse(text) as Record<string, unknown>));
    const attempts: string[] = [];
    const outcomes = [new Error('database or disk is full'), new Error('database or disk is full'), undefined];
    const guard = guardDatabaseFiles(path, readFileIdentity(path), {
      log,
      rescue: async (to) => {
        attempts.push(to);
        const outcome = outcomes.shift();
        if (outcome !== undefined) throw outcome;
      },
    });
    try {
      rmSync(path);
      assert.equal(guard.check(), false);
      await turn();
      const to = attempts[0]!;
      assert.match(to, /auditor\.db\.rescued-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/);
      const failed = `could not copy the lost database to ${to} (database or disk is full): the events it held are still held by this ` +
        'process alone, so keep it running (do not restart it); the copy is tried again every 10 s until it succeeds';
      assert.deepEqual(lines.slice(1).map((line) => line.msg), [failed]);

      mock.timers.tick(10_000);
      await turn();
      assert.deepEqual(attempts, [to, to]);
      mock.timers.tick(10_000);
      await turn();
      assert.deepEqual(attempts, [to, to, to]);
      assert.deepEqual(lines.slice(1).map((line) => line.msg), [
        failed,
        failed,
        `copied everything the lost database held to ${to}: stop the service, move that file to ${path}, and start it again`,
      ]);
      mock.timers.tick(30_000);
      await turn();
      assert.equal(attempts.length, 3, 'copied once is enough');
      assert.match(String(lines[0]!.msg), /^DATABASE FILE LOST: .*auditor\.db was deleted\./);
    } finally {
      guard.stop();
    }
  });
});
