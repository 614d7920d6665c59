import { dataCommitment } from '../../../verifier/leaf.js';
import { removalApplies, type PayloadRemoval } from '../payload-removal.js';
import type Database from './sqlite-driver.js';

type PayloadRow = { data: string; removal: string | null; salt: Buffer | null };

/**
 * Makes payload removals (PayloadRemoval) on the writer's connection, each batch in one
 * transaction, answering how many events it changed.
 */
export function createPayloadRemover(db: Database.Database): (removal: PayloadRemoval) => number {
  const select = db.prepare<[number], PayloadRow>(
    'SELECT e.data, e.removal, l.salt FROM events e LEFT JOIN merkle_leaves l ON l.seq = e.seq WHERE e.seq = ?',
  );
  const removeEvent = db.prepare(
    "UPDATE events SET data = 'null', removed_by = ?, removal = ?, removed_ms = ?, user_id = coalesce(?, user_id) WHERE seq = ?",
  );
  const removeSalt = db.prepare('UPDATE merkle_leaves SET salt = NULL, data_sha256 = ? WHERE seq = ? AND salt IS NOT NULL');
  const dropCommitment = db.prepare('UPDATE merkle_leaves SET data_sha256 = NULL WHERE seq = ? AND data_sha256 IS NOT NULL');
  const forgetRequest = db.prepare('DELETE FROM idempotency WHERE event_id = (SELECT id FROM events WHERE seq = ?)');

  const remove = db.transaction((removal: PayloadRemoval): number => {
    let changed = 0;
    for (const seq of removal.seqs) {
      const row = select.get(seq);
      if (row === undefined || !removalApplies(removal, row)) continue;
      // Read before the data goes: the commitment the leaf was made with.
      const commitment = row.salt === null ? null : dataCommitment(row.salt, row.data);
      removeEvent.run(removal.recordId, removal.reason, removal.atMs, removal.pseudonym, seq);
      if (row.removal === null) removeSalt.run(removal.pseudonym === null ? commitment : null, seq);
      if (removal.pseudonym !== null) dropCommitment.run(seq);
      forgetRequest.run(seq);
      changed++;
    }
    return changed;
  });
  return (removal) => remove.immediate(removal);
}
