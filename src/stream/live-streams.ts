/**
 * The streams of GET /events/stream open in this process: how many each key holds (a key may hold
 * `perKey` at once), the signal that wakes them, and their end at shutdown.
 */
import type { StreamSettings } from '../config.js';
import type { CommitSignal } from './commit-signal.js';
import { createSharedReads, type SharedReads } from './shared-reads.js';

/** Why a stream ended, as metrics count it. */
export type StreamEnd = 'client' | 'slow' | 'shutdown' | 'failed';

/** One open stream: aborted when it must end (its client left, or the service stops). */
export type OpenStream = {
  readonly abort: AbortSignal;
  /** Why it was ended from outside, once it was. */
  readonly endedBy: StreamEnd | undefined;
  /** Ends it (once; later calls change nothing) and frees its key's place. */
  close(why: StreamEnd): void;
};

export type LiveStreams = {
  readonly signal: CommitSignal;
  /** What one stream read, for the others with the same filters at the same place. */
  readonly shared: SharedReads;
  readonly heartbeatMs: number;
  /** A stream for `keyName`, or undefined when the key holds as many as it may. */
  open(keyName: string): OpenStream | undefined;
  /** How many are open. */
  count(): number;
  /** Ends every stream, and stops waking them (at shutdown: a client reconnects to another instance). */
  closeAll(): void;
};

export function createLiveStreams(signal: CommitSignal, settings: Pick<StreamSettings, 'perKey' | 'heartbeatMs'>, onEnd?: (why: StreamEnd) => void): LiveStreams {
  const byKey = new Map<string, number>();
  const open = new Set<OpenStream>();
  return {
    signal,
    shared: createSharedReads(),
    heartbeatMs: settings.heartbeatMs,
    open(keyName) {
      const held = byKey.get(keyName) ?? 0;
      if (held >= settings.perKey) return undefined;
      byKey.set(keyName, held + 1);
      const controller = new AbortController();
      let endedBy: StreamEnd | undefined;
      const stream: OpenStream = {
        abort: controller.signal,
        get endedBy() {
          return endedBy;
        },
        close(why) {
          if (!open.delete(stream)) return;
          endedBy = why;
          const left = byKey.get(keyName)! - 1;
          if (left === 0) byKey.delete(keyName);
          else byKey.set(keyName, left);
          controller.abort();
          onEnd?.(why);
        },
      };
      open.add(stream);
      return stream;
    },
    count: () => open.size,
    closeAll() {
      for (const stream of [...open]) stream.close('shutdown');
      signal.close();
    },
  };
}
