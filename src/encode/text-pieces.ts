/**
 * Response bodies leave in pieces of about PIECE_CHARS characters: large enough that a write costs
 * little per event, small enough that no value is ever copied whole. A 1 MiB `data` is sent as
 * sixteen slices of itself (V8 slices share their parent's memory) rather than joined, escaped or
 * converted in one go, so what a response holds beyond its events stays a few pieces, whatever
 * the events hold.
 */
export const PIECE_CHARS = 64 * 1024;

/** Gathers short texts to hand them on joined, a piece of at least PIECE_CHARS at a time. */
export class PieceCollector {
  private parts: string[] = [];
  private size = 0;

  add(text: string): void {
    if (text.length === 0) return;
    this.parts.push(text);
    this.size += text.length;
  }

  /** Whether a piece of PIECE_CHARS or more is gathered. */
  isFull(): boolean {
    return this.size >= PIECE_CHARS;
  }

  /** Whatever was gathered, as one piece (and gathering starts again), or undefined when nothing was. */
  take(): string | undefined {
    if (this.size === 0) return undefined;
    const piece = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.size = 0;
    return piece;
  }
}

/**
 * `text` in consecutive slices of at most PIECE_CHARS, never splitting a surrogate pair (each half
 * of one, written apart, would reach the wire as U+FFFD).
 */
export function* slices(text: string): Generator<string> {
  for (let start = 0; start < text.length; ) {
    let end = Math.min(start + PIECE_CHARS, text.length);
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    yield text.slice(start, end);
    start = end;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
