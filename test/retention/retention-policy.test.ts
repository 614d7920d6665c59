import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { cutoffFor, cutoffsAt, parseRetentionPolicy } from '../../src/retention/retention-policy.js';

const DAY = 86_400_000;

describe('AUDITOR_RETENTION', () => {
  it('reads every unit, and a policy without default keeps the types it does not name', () => {
    const { policy, problems } = parseRetentionPolicy('a=30s,b=2m,c=3h,d=4d,e=1y');
    assert.deepEqual(problems, []);
    assert.deepEqual([...policy!.ageByType], [['a', 30_000], ['b', 120_000], ['c', 3 * 3_600_000], ['d', 4 * DAY], ['e', 365 * DAY]]);
    const cutoffs = cutoffsAt(policy!, 1_000 * DAY);
    assert.equal(cutoffFor(cutoffs, 'd'), 996 * DAY);
    assert.equal(cutoffFor(cutoffs, 'unnamed'), undefined);
  });

  it('applies default to every type not named, and never to system events', () => {
    const { policy } = parseRetentionPolicy('default=10d,login=1d');
    const cutoffs = cutoffsAt(policy!, 100 * DAY);
    assert.equal(cutoffFor(cutoffs, 'login'), 99 * DAY);
    assert.equal(cutoffFor(cutoffs, 'payment'), 90 * DAY);
    assert.equal(cutoffFor(cutoffs, 'auditor.erasure'), undefined);
  });

  it('is no policy at all when empty, so everything is kept as before', () => {
    assert.deepEqual(parseRetentionPolicy(''), { policy: undefined, problems: [] });
    assert.equal(loadConfig({}).retention, undefined);
  });

  it('refuses, one line each, what it cannot read', () => {
    const { policy, problems } = parseRetentionPolicy('login=90,payment=7w,default=0d,auditor.hold=1d,x=1d,x=2d,=3d,y=1001y');
    assert.equal(policy, undefined);
    assert.deepEqual(problems, [
      '"login=90" is not <event_type or default>=<age> with an age such as 90d, 12h or 7y',
      '"payment=7w" is not <event_type or default>=<age> with an age such as 90d, 12h or 7y',
      '"default=0d": the age must be more than 0 and at most 1000y',
      '"auditor.hold=1d": system events (auditor.*) are never removed',
      '"x" is given twice',
      '"=3d" is not <event_type or default>=<age> with an age such as 90d, 12h or 7y',
      '"y=1001y": the age must be more than 0 and at most 1000y',
    ]);
    assert.throws(() => loadConfig({ AUDITOR_RETENTION: 'login=soon', AUDITOR_RETENTION_INTERVAL: '0s' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.problems.join('\n'), /AUDITOR_RETENTION: "login=soon" is not/);
      assert.match(error.problems.join('\n'), /AUDITOR_RETENTION_INTERVAL: expected a duration/);
      return true;
    });
  });
});
