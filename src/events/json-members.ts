/**
 * A second, structural pass over JSON text that JSON.parse has already accepted.
 *
 * JSON.parse loses what an audit log has to keep: the spelling of numbers (`1.50`, or an integer
 * past 2^53 that a double would round) and, with duplicate keys, every value but the last. So the
 * service stores `data` as the client's own text, minus insignificant white space, and this pass is
 * what finds that text, refuses duplicate keys at any depth (I-JSON, RFC 7493) and caps nesting.
 * It is iterative, so no nesting depth can overflow the stack.
 */

export class JsonShapeError extends Error {
  override name = 'JsonShapeError';
}

/** Nesting deeper than the limit: callers say which value was too deep, counted from where. */
export class JsonTooDeepError extends JsonShapeError {
  override name = 'JsonTooDeepError';
}

type Frame = { keys: Set<string> | undefined; expectingKey: boolean };

/**
 * Returns each top-level member of the JSON object in `text` as minified JSON text, exactly as the
 * client spelled its tokens. `text` must already be valid JSON whose top level is an object.
 * Throws JsonShapeError for a duplicate key, JsonTooDeepError for nesting deeper than `maxDepth`
 * (the top-level object is depth 1).
 */
export function readObjectMembers(text: string, maxDepth: number): Map<string, string> {
  return new Map(readTopLevel(text, maxDepth).map(({ name, value }) => [name, value]));
}

/**
 * Returns each element of the JSON array in `text` as minified JSON text, as the client spelled
 * it, with the same checks as readObjectMembers (the array is depth 1).
 */
export function readArrayElements(text: string, maxDepth: number): string[] {
  return readTopLevel(text, maxDepth).map(({ value }) => value);
}

/** The top-level members (named) or elements (unnamed) of already-valid JSON text. */
function readTopLevel(text: string, maxDepth: number): Array<{ name: string; value: string }> {
  const pieces: string[] = [];
  let pieceStart = 0; // start of the text not yet copied into `pieces`
  let copied = 0; // length of the minified text in `pieces`
  const minifiedOffset = (index: number): number => copied + (index - pieceStart);

  const spans: Array<{ name: string; start: number; end: number }> = [];
  const stack: Frame[] = [];
  let memberName = '';
  let valueStart = -1; // minified offset where the current top-level value begins; -1 between members
  const closeMember = (index: number): void => {
    const end = minifiedOffset(index);
    if (valueStart >= 0 && end > valueStart) spans.push({ name: memberName, start: valueStart, end });
    valueStart = -1;
  };
  // In a top-level array an element starts after the `[` and after each `,`.
  const topLevelIsArray = text.trimStart().startsWith('[');

  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    switch (code) {
      case 0x20: case 0x09: case 0x0a: case 0x0d: {
        pieces.push(text.slice(pieceStart, index));
        copied += index - pieceStart;
        while (isJsonWhiteSpace(text.charCodeAt(index))) index++;
        pieceStart = index;
        break;
      }
      case 0x22: { // "
        const end = endOfString(text, index);
        const frame = stack[stack.length - 1];
        if (frame?.keys !== undefined && frame.expectingKey) {
          const literal = text.slice(index, end);
          const key = literal.includes('\\') ? (JSON.parse(literal) as string) : literal.slice(1, -1);
          if (frame.keys.has(key)) throw new JsonShapeError(`duplicate property "${key}"`);
          frame.keys.add(key);
          frame.expectingKey = false;
          if (stack.length === 1) memberName = key;
        }
        index = end;
        break;
      }
      case 0x7b: case 0x5b: { // { [
        if (stack.length === maxDepth) {
          throw new JsonTooDeepError(`nesting is deeper than ${maxDepth} levels`);
        }
        const isObject = code === 0x7b;
        stack.push({ keys: isObject ? new Set() : undefined, expectingKey: isObject });
        index++;
        if (stack.length === 1 && !isObject) valueStart = minifiedOffset(index);
        break;
      }
      case 0x7d: case 0x5d: { // } ]
        if (stack.length === 1) closeMember(index);
        stack.pop();
        index++;
        break;
      }
      case 0x3a: { // :
        index++;
        if (stack.length === 1) valueStart = minifiedOffset(index);
        break;
      }
      case 0x2c: { // ,
        const frame = stack[stack.length - 1];
        if (stack.length === 1) closeMember(index);
        if (frame?.keys !== undefined) frame.expectingKey = true;
        index++;
        if (stack.length === 1 && topLevelIsArray) valueStart = minifiedOffset(index);
        break;
      }
      default:
        index++; // part of a number or a literal: copied as written
    }
  }

  pieces.push(text.slice(pieceStart));
  const minified = pieces.length === 1 ? text : pieces.join('');
  return spans.map((span) => ({ name: span.name, value: minified.slice(span.start, span.end) }));
}

function isJsonWhiteSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/** Index just past the closing quote of the string literal that opens at `start`. */
function endOfString(text: string, start: number): number {
  let quote = text.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    quote = text.indexOf('"', quote + 1);
  }
}
