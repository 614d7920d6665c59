/**
 * How an erasure of a user renames its events' user_id: this prefix, then a keyed hash of the
 * name (src/retention/pseudonym.ts makes it). The verifier only checks the prefix: the key is
 * the service's.
 */
export const PSEUDONYM_PREFIX = 'erased-';
