import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { isSystemEventType } from '../events/system-event-types.js';
import { silentLogger, type Logger } from '../ops/logger.js';
import type { EventStore } from '../store/event-store.js';
import type { RemovalCandidate } from '../store/storage-backend.js';
import { REMOVAL_BATCH } from './erase-subject.js';
import { createHoldMatcher, holdsInForce } from './legal-hold.js';
import { retentionRecord } from './removal-records.js';
import type { RemovalLock } from './removal-lock.js';
import { cutoffFor, cutoffsAt, type RetentionPolicy } from './retention-policy.js';

/** What one run did: events whose payload it removed, events a legal hold kept, and the id of its auditor.retention record (none when nothing had expired). */
export type RetentionRun = { removed: number; held: number; record: string | null; seconds: number };

export type RetentionJob = {
  /** Runs the policy now (after the run in progress, if any), and resolves with what it did. */
  runNow(): Promise<RetentionRun>;
  /** Stops the timer, and waits for the run in progress. */
  stop(): Promise<void>;
};

export type RetentionJobOptions = {
  store: EventStore;
  policy: RetentionPolicy;
  lock: RemovalLock;
  intervalMs: number;
  log?: Logger;
  /** Told of each batch's removals as they commit (for metrics that move during a long run). */
  onRemoved?: (count: number) => void;
  /** Told of each run that completed, and of each that failed. */
  onRun?: (run: RetentionRun) => void;
  onFailure?: (error: Error) => void;
  clock?: () => number;
  batchSize?: number;
  /**
   * Whether the service is serving requests now: while it is, the job keeps to BUSY_SHARE of the
   * time (a pause after each batch, in proportion to how long the batch took); while it is idle,
   * it goes on at once. Idle when not given (the tests' jobs run unpaced).
   */
  isBusy?: () => boolean;
};

/**
 * The share of the time the job takes from a busy service. Removal competes with ingest for the
 * writer and, on a small machine, for the one core: a tenth keeps ingest within 0.9 of what it
 * is without a run (bench/README.md, "Retention").
 */
export const BUSY_SHARE = 0.1;

/** How often a long run says how far it is, in the log. */
const PROGRESS_EVERY_MS = 10_000;

/**
 * The retention job: at once, then every `intervalMs`, removes the payload of the events past
 * their type's age (see RetentionPolicy), in batches of a few hundred events, each its own short
 * transaction taken under the removal lock, with the holds in force read again for each. Ingest
 * goes on between batches, and while requests come the job keeps to BUSY_SHARE of the time. A run
 * walks the events still holding a payload type by type, in seq order up to the type's cutoff, so
 * it reads what it removes and what holds keep, never what earlier runs removed. The run's
 * auditor.retention record is appended before its first removal, and only when there is one to
 * make. The space is reclaimed once a run removed anything. A run that fails is logged, counted
 * and tried again at the next interval; what it removed stays removed, under its record.
 */
export function startRetentionJob(options: RetentionJobOptions): RetentionJob {
  const { store, policy, lock, intervalMs, log = silentLogger, clock = Date.now, batchSize = REMOVAL_BATCH, isBusy = () => false } = options;
  let running: Promise<RetentionRun> | undefined;
  let busy = false;
  let stopped = false;

  const run = async (): Promise<RetentionRun> => {
    const started = performance.now();
    const cutoffs = cutoffsAt(policy, clock());
    let record: { id: string; seq: number; timestampMs: number } | undefined;
    let removed = 0;
    let held = 0;
    let reported = started;

    for (let type = await store.removals.nextTypeWithPayload(''); type !== undefined && !stopped; type = await store.removals.nextTypeWithPayload(type)) {
      const before = cutoffFor(cutoffs, type);
      if (before === undefined || isSystemEventType(type)) continue;
      for (let afterSeq = 0; !stopped; ) {
        const batchStarted = performance.now();
        const batch: RemovalCandidate[] = await lock(async () => {
          const candidates = await store.removals.payloadsRecordedBefore(type, before, afterSeq, batchSize);
          const keeps = createHoldMatcher(await holdsInForce(store), store.removals.pseudonymOf);
          const expired = candidates.filter((event) => keeps({ ...event, eventType: type }) === undefined);
          held += candidates.length - expired.length;
          if (expired.length === 0) return candidates;
          record ??= await store.append(retentionRecord(policy, cutoffs));
          const seqs = expired.filter((event) => event.seq < record!.seq).map((event) => event.seq);
          const count = await store.removals.removePayloads({ recordId: record.id, reason: 'retention', atMs: record.timestampMs, seqs, pseudonym: null });
          removed += count;
          options.onRemoved?.(count);
          return candidates;
        });
        if (performance.now() - reported >= PROGRESS_EVERY_MS) {
          reported = performance.now();
          log.info({ msg: 'retention run in progress', removed, held, event_type: type, record: record?.id ?? null });
        }
        if (batch.length < batchSize) break;
        afterSeq = batch[batch.length - 1]!.seq;
        // Requests run between batches; while they come, the job keeps to its share of the time.
        if (isBusy()) await sleep(((performance.now() - batchStarted) * (1 - BUSY_SHARE)) / BUSY_SHARE);
        else await nextTurn();
      }
    }
    if (removed > 0) await store.removals.reclaimSpace();
    const outcome = { removed, held, record: record?.id ?? null, seconds: Math.round(performance.now() - started) / 1000 };
    if (removed > 0 || held > 0) log.info({ msg: 'retention run', removed, held, record: outcome.record, policy: policy.text, seconds: outcome.seconds });
    return outcome;
  };

  const runOnce = (): Promise<RetentionRun> => {
    const next = (running ?? Promise.resolve()).catch(() => undefined).then(async () => {
      busy = true;
      try {
        return await run();
      } finally {
        busy = false;
      }
    });
    running = next;
    next.then(
      (outcome) => options.onRun?.(outcome),
      (error: Error) => {
        options.onFailure?.(error);
        log.error({ msg: 'retention run failed; it runs again at the next interval', error: error.message });
      },
    );
    return next;
  };

  // The first run at once: a policy just configured applies from the start, not an interval later.
  // A tick during a run longer than the interval is skipped, not queued behind it.
  const tick = (): void => {
    if (!busy && !stopped) runOnce().catch(() => undefined);
  };
  const first = setTimeout(tick, 0);
  const timer = setInterval(tick, intervalMs);
  first.unref();
  timer.unref();
  return {
    runNow: runOnce,
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
