import type { StoredEvent } from '../events/event.js';
import { PIECE_CHARS, PieceCollector } from './text-pieces.js';

/** How a format lays events out: text around the whole answer and around each event. */
export type EventLayout = {
  /** Before the first event (sent even when there is none). */
  head: string;
  /** Between two events. */
  between: string;
  /** After each event. */
  after: string;
  /** After the last event (sent even when there is none). */
  tail: string;
  /**
   * One event's text: a string for an ordinary event, its parts in order for a large one (a part
   * may be UTF-8 bytes already, where bytes are cheaper to work on than a string).
   */
  encode(event: StoredEvent): string | Iterable<string | Uint8Array>;
};

/**
 * Streams chunks of events in `layout`, as pieces of about PIECE_CHARS: ordinary events are
 * gathered into pieces, a large one leaves in slices. What is gathered goes out at the end of each
 * chunk, so a client sees events as soon as their chunk is read, not when a piece fills up.
 */
export async function* encodeInPieces(chunks: AsyncIterable<readonly StoredEvent[]>, layout: EventLayout): AsyncIterable<string | Uint8Array> {
  const out = new PieceCollector();
  out.add(layout.head);
  let first = true;
  for await (const events of chunks) {
    for (const event of events) {
      if (!first) out.add(layout.between);
      first = false;
      const text = layout.encode(event);
      if (typeof text === 'string') {
        // A large event's text is not joined to what was gathered: together they could make a
        // piece of three times PIECE_CHARS (a CSV cell of 64 Ki characters of quotes, doubled).
        if (text.length >= PIECE_CHARS / 2) {
          const gathered = out.take();
          if (gathered !== undefined) yield gathered;
        }
        out.add(text);
      } else {
        for (const part of text) {
          if (typeof part === 'string' && part.length < PIECE_CHARS / 2) {
            out.add(part);
            continue;
          }
          // A slice of a large value leaves as it is: joining it to what was gathered would copy it.
          const gathered = out.take();
          if (gathered !== undefined) yield gathered;
          yield part;
        }
      }
      out.add(layout.after);
      if (out.isFull()) yield out.take()!;
    }
    const rest = out.take();
    if (rest !== undefined) yield rest;
  }
  out.add(layout.tail);
  const rest = out.take();
  if (rest !== undefined) yield rest;
}

/**
 * Events in `layout` as one string, for an answer sent whole: meant for a few events, as their
 * text is held twice over meanwhile (the events, and the string).
 */
export function encodeWhole(events: readonly StoredEvent[], layout: EventLayout): string {
  let text = layout.head;
  for (let i = 0; i < events.length; i++) {
    if (i > 0) text += layout.between;
    const encoded = layout.encode(events[i]!);
    if (typeof encoded === 'string') text += encoded;
    else for (const part of encoded) text += typeof part === 'string' ? part : Buffer.from(part).toString('utf8');
    text += layout.after;
  }
  return text + layout.tail;
}
