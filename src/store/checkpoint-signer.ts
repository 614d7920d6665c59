import { formatCheckpoint } from '../../verifier/checkpoint.js';
import { rootHash } from '../integrity/merkle-tree.js';
import type { Logger } from '../ops/logger.js';
import type { StorageBackend, StoredCheckpoint } from './storage-backend.js';

export type CheckpointSigner = {
  /**
   * The latest checkpoint kept, once one covers at least `leaves` leaves: when the latest does not,
   * one is signed now (joining a signing in progress), so a proof never waits for the timer.
   */
  covering(leaves: number): Promise<StoredCheckpoint>;
  /** Stops the timer, then signs the tree as it is left. */
  stop(): Promise<void>;
};

/**
 * Signs a checkpoint of the Merkle tree every `intervalMs` when it has grown, off the path of
 * every write: an event is answered once committed, and the next checkpoint covers it. Each
 * checkpoint is kept; instances sharing a database sign the same note for the same size (Ed25519
 * is deterministic), so whichever keeps it first, it is the one.
 */
export function startCheckpointSigner(
  backend: StorageBackend,
  options: { intervalMs: number; clock: () => number; log: Logger; onCheckpoint: (size: number, createdMs: number) => void },
): CheckpointSigner {
  const { intervalMs, clock, log, onCheckpoint } = options;
  let latest: StoredCheckpoint | undefined;
  let signing: Promise<StoredCheckpoint> | undefined;
  let failedBefore = false;

  const sign = async (): Promise<StoredCheckpoint> => {
    if (latest === undefined) {
      latest = await backend.checkpoint();
      if (latest !== undefined) onCheckpoint(latest.size, latest.createdMs);
    }
    const size = await backend.treeSize();
    if (latest !== undefined && latest.size >= size) return latest;
    const root = await rootHash(size, backend.subtrees);
    const text = formatCheckpoint(backend.signingKey.name, size, root);
    const checkpoint: StoredCheckpoint = { size, rootHash: root, note: `${text}\n${backend.signingKey.sign(text)}`, createdMs: clock(), cosignatures: [] };
    await backend.saveCheckpoint(checkpoint);
    // Another instance may have kept this size first, with its cosignatures by now: read it back.
    latest = (await backend.checkpoint(size)) ?? checkpoint;
    onCheckpoint(latest.size, latest.createdMs);
    return latest;
  };
  /** One signing at a time; callers during one share it. */
  const signOnce = (): Promise<StoredCheckpoint> => {
    signing ??= sign().finally(() => {
      signing = undefined;
    });
    return signing;
  };
  const tick = (): void => {
    signOnce().then(
      () => {
        if (failedBefore) log.info({ msg: 'checkpoints are signed again' });
        failedBefore = false;
      },
      (error: unknown) => {
        // Said once until it works again: the timer tries every interval.
        if (!failedBefore) log.error({ msg: 'signing a checkpoint failed; it is tried again every interval', error: (error as Error).message });
        failedBefore = true;
      },
    );
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();

  return {
    async covering(leaves) {
      const known = latest;
      if (known !== undefined && known.size >= leaves) return known;
      const signed = await signOnce();
      return signed.size >= leaves ? signed : signOnce();
    },
    async stop() {
      clearInterval(timer);
      await signOnce().catch(() => undefined);
    },
  };
}
