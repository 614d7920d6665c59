/** Messages between the SQLite store and its writer thread. */

/** One event to insert. Tuples clone faster than objects. */
export type EventTuple = [userId: string, eventType: string, dataJson: string, keyName: string | null];

export type WriterRequest = { kind: 'commit'; batch: number; events: EventTuple[] } | { kind: 'close' };

/** Per event: [id, timestampMs, seq] when stored, or the message of the error that kept it out. */
export type InsertOutcome = [id: string, timestampMs: number, seq: number] | string;

export type WriterReply =
  | { kind: 'committed'; batch: number; outcomes: InsertOutcome[] }
  | { kind: 'failed'; batch: number; message: string }
  | { kind: 'closed' };
