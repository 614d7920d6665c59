/**
 * What every supported database can store and index faithfully, beyond what JSON itself allows.
 * PostgreSQL's text and jsonb have no U+0000 and no unpaired surrogate (\ud800), and its numeric
 * type stops at a few thousand digits. An event either backend would have to refuse, alter or fail
 * on is refused up front, on both, so that an event is never accepted on one and unstorable on the
 * other (and SQLite data can always move to PostgreSQL).
 */

/** Longest number mantissa (digits, sign and point) in `data`. */
export const MAX_NUMBER_DIGITS = 1000;
/** Most digits in a number's exponent in `data`. */
export const MAX_EXPONENT_DIGITS = 4;

// Cheap tests first: almost no event has a \u escape or a number that long.
const MAY_HAVE_UNICODE_ESCAPE = /\\u/;
// A run of mantissa characters is matched only from its first one (after a character that is not
// one): `[-\d.]{1001}` alone would rescan each run from every position in it, so a body of long
// digit runs, which a client chooses, would cost seconds of CPU.
const MAY_HAVE_HUGE_NUMBER = new RegExp(`(?:^|[^-\\d.])[-\\d.]{${MAX_NUMBER_DIGITS + 1}}|[eE][+-]?\\d{${MAX_EXPONENT_DIGITS + 1}}`);
const STRING_LITERAL = /"(?:[^"\\]|\\.)*"/g;
const NUMBER = /(-?\d+(?:\.\d+)?)(?:[eE][+-]?(\d+))?/g;

/** A text field (user_id, event_type): why it cannot be stored, or undefined when it can. */
export function unstorableTextReason(value: string): string | undefined {
  if (!value.isWellFormed()) return 'must be well-formed Unicode (no unpaired surrogate)';
  if (value.includes('\u0000')) return 'must not contain U+0000';
  return undefined;
}

/**
 * Valid JSON text `json`: why it cannot be stored, or undefined when it can. Strings and names
 * must pass unstorableTextReason; numbers must fit MAX_NUMBER_DIGITS and MAX_EXPONENT_DIGITS.
 */
export function unstorableJsonReason(json: string): string | undefined {
  if (MAY_HAVE_UNICODE_ESCAPE.test(json)) {
    const reason = unstorableTextIn(JSON.parse(json));
    if (reason !== undefined) return reason;
  }
  if (MAY_HAVE_HUGE_NUMBER.test(json)) {
    for (const [, mantissa, exponent] of json.replace(STRING_LITERAL, '""').matchAll(NUMBER)) {
      if (mantissa!.length > MAX_NUMBER_DIGITS || (exponent?.length ?? 0) > MAX_EXPONENT_DIGITS) {
        return `has a number longer than ${MAX_NUMBER_DIGITS} digits or with an exponent of more than ${MAX_EXPONENT_DIGITS} digits`;
      }
    }
  }
  return undefined;
}

function unstorableTextIn(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const reason = unstorableTextReason(value);
    return reason === undefined ? undefined : `has a string that ${reason}`;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [name, member] of Object.entries(value)) {
    const nameReason = Array.isArray(value) ? undefined : unstorableTextReason(name);
    if (nameReason !== undefined) return `has a property name that ${nameReason}`;
    const reason = unstorableTextIn(member);
    if (reason !== undefined) return reason;
  }
  return undefined;
}
