/** Pieces of text gathered while the event loop turns, and handed on together. */
export type TurnBatch = {
  write(text: string): void;
  /** Hands on what has gathered now (at exit), rather than at the end of the turn. */
  flush(): void;
};

/**
 * Gathers the text written during one turn of the event loop and hands it to `send` as one
 * string, with how many pieces it holds, once the turn's callbacks have run (setImmediate): one
 * hand-over per turn however many requests it answered, and each piece still out within the turn.
 */
export function batchPerTurn(send: (text: string, pieces: number) => void): TurnBatch {
  let pieces: string[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pieces.length === 0) return;
    const taken = pieces;
    pieces = [];
    send(taken.length === 1 ? taken[0]! : taken.join(''), taken.length);
  };
  return {
    write(text) {
      pieces.push(text);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
