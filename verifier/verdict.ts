/**
 * The two ways a check ends without proving anything, and the exit status each gives: the inputs
 * were checked and something did not hold (1), or they could not be checked at all (2).
 */

/** The inputs of a check, by the name of the command-line option that gives each. */
export type Input = 'event' | 'proof' | 'checkpoint' | 'old' | 'new' | 'key';

/** Checked, and found false: exit 1. The message says what failed. */
export class Invalid extends Error {
  override name = 'Invalid';
}

/** One input is not what it should be (not JSON, a member missing, bad base64, not a key): exit 2. */
export class Unusable extends Error {
  override name = 'Unusable';
  constructor(readonly input: Input, message: string) {
    super(message);
  }
}

export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_UNUSABLE = 2;

/** Runs `read` over one input, turning the Error it throws into an Unusable naming that input. */
export function readOr<T>(input: Input, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new Unusable(input, (error as Error).message);
  }
}

/** Runs `check`, turning the Error it throws into an Invalid that starts with `failed`. */
export function holds<T>(failed: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw new Invalid(`${failed}: ${(error as Error).message}`);
  }
}
