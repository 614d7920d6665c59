/**
 * An event as GET /events/{id} serves it, read from a saved file. The leaf commits to the `data`
 * member's text as the log stored it: the client's own tokens, white space outside strings removed.
 * So that text is taken from the file as written, never from JSON.parse and JSON.stringify, which
 * would respell numbers (1.50, integers past 2^53) and escapes. White space outside strings is
 * dropped, which is why a pretty-printed copy of the event still verifies.
 */

export type SavedEvent = {
  id: string;
  timestamp: string;
  userId: string;
  eventType: string;
  /** The raw text of `data`, white space outside strings removed: `null` once removed. */
  dataText: string;
  /** Set on an event whose payload retention or an erasure removed: why, when, and the record's id. */
  removed?: { reason: string; at: string; by: string };
};

const TEXT_MEMBERS = ['id', 'timestamp', 'user_id', 'event_type'] as const;
const MEMBERS: readonly string[] = [...TEXT_MEMBERS, 'data'];
/** Members an event may have or not. */
const OPTIONAL_MEMBERS: readonly string[] = ['removed'];

/** Reads a saved event, or throws an Error saying why the text is not one event object. */
export function readSavedEvent(text: string): SavedEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`it is not JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`it is not one event object but ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}`);
  }
  const members = value as Record<string, unknown>;
  const stray = Object.keys(members).find((name) => !MEMBERS.includes(name) && !OPTIONAL_MEMBERS.includes(name));
  if (stray !== undefined) throw new Error(`it has a member "${stray}" that an event does not have (${[...MEMBERS, ...OPTIONAL_MEMBERS].join(', ')})`);
  for (const name of MEMBERS) {
    if (!Object.hasOwn(members, name)) throw new Error(`it has no "${name}" member`);
  }
  for (const name of TEXT_MEMBERS) {
    if (typeof members[name] !== 'string') throw new Error(`its "${name}" is not a string`);
  }
  const spans = topLevelSpans(text);
  // JSON.parse keeps the last of two equal names; which one the log wrote cannot be known.
  if (spans.duplicate !== undefined) throw new Error(`it has the member "${spans.duplicate}" twice`);
  const data = spans.members.get('data')!;
  const event: SavedEvent = {
    id: members.id as string,
    timestamp: members.timestamp as string,
    userId: members.user_id as string,
    eventType: members.event_type as string,
    dataText: withoutWhiteSpace(text.slice(data.start, data.end)),
  };
  if (members.removed !== undefined) {
    const removed = members.removed as Record<string, unknown> | null;
    if (typeof removed !== 'object' || removed === null || ['reason', 'at', 'by'].some((name) => typeof removed[name] !== 'string')) {
      throw new Error('its "removed" is not an object of reason, at and by');
    }
    event.removed = { reason: removed.reason as string, at: removed.at as string, by: removed.by as string };
  }
  return event;
}

type Span = { start: number; end: number };

/**
 * Where each top-level member's value lies in `text`, which JSON.parse has accepted as an object:
 * so the scan need not check the grammar, only follow it.
 */
function topLevelSpans(text: string): { members: Map<string, Span>; duplicate: string | undefined } {
  const members = new Map<string, Span>();
  let duplicate: string | undefined;
  let at = skipWhiteSpace(text, text.indexOf('{') + 1);
  while (text[at] !== '}') {
    const nameEnd = endOfString(text, at);
    const name = JSON.parse(text.slice(at, nameEnd)) as string;
    const start = skipWhiteSpace(text, skipWhiteSpace(text, nameEnd) + 1); // past the colon
    const end = endOfValue(text, start);
    if (members.has(name)) duplicate ??= name;
    members.set(name, { start, end });
    at = skipWhiteSpace(text, end);
    if (text[at] === ',') at = skipWhiteSpace(text, at + 1);
  }
  return { members, duplicate };
}

/** Index just past the value (string, number, literal, object or array) that starts at `start`. */
function endOfValue(text: string, start: number): number {
  const first = text[start];
  if (first === '"') return endOfString(text, start);
  if (first !== '{' && first !== '[') {
    let at = start;
    while (at < text.length && !',}] \t\n\r'.includes(text[at]!)) at++;
    return at;
  }
  let depth = 0;
  let at = start;
  do {
    const c = text[at];
    if (c === '"') {
      at = endOfString(text, at);
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    at++;
  } while (depth > 0);
  return at;
}

/** Index just past the closing quote of the string that opens at `start`. */
function endOfString(text: string, start: number): number {
  let at = start + 1;
  while (text[at] !== '"') at += text[at] === '\\' ? 2 : 1;
  return at + 1;
}

/** The JSON text `json` with the white space outside its strings removed. */
function withoutWhiteSpace(json: string): string {
  let out = '';
  let at = 0;
  while (at < json.length) {
    const c = json[at]!;
    if (c === '"') {
      const end = endOfString(json, at);
      out += json.slice(at, end);
      at = end;
    } else {
      if (!isWhiteSpace(c)) out += c;
      at++;
    }
  }
  return out;
}

function skipWhiteSpace(text: string, at: number): number {
  while (at < text.length && isWhiteSpace(text[at]!)) at++;
  return at;
}

function isWhiteSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}
