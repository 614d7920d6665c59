import { createHash } from 'node:crypto';
import { parseFieldPath } from '../events/field-path.js';

/** A field of `data` the operator declared (AUDITOR_INDEXED_FIELDS), and the name of its index. */
export type IndexedField = { name: string; path: readonly string[]; index: string };

/** Most fields one deployment may declare: each index costs every write a little. */
export const MAX_INDEXED_FIELDS = 32;
/** Every declared field's index is named so, and only they: an index of this name no field declares is dropped. */
export const FIELD_INDEX_PREFIX = 'events_by_field_';

/**
 * AUDITOR_INDEXED_FIELDS read: comma-separated field names as queries write them (`ip`,
 * `address.city`). An index is named by a digest of its path, so any field name makes a valid
 * identifier and the same field always finds the same index.
 */
export function parseIndexedFields(text: string): { fields: IndexedField[]; problems: string[] } {
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const problems: string[] = [];
  const fields = new Map<string, IndexedField>();
  for (const name of names) {
    const field = name.startsWith('data.') ? name.slice('data.'.length) : name;
    const path = parseFieldPath(field);
    if (path === undefined || field.includes('\u0000')) {
      problems.push(`"${name}" is not a field name: a dotted path needs a name on each side of every dot`);
      continue;
    }
    const index = fieldIndexName(path);
    if (!fields.has(index)) fields.set(index, { name: field, path, index });
  }
  if (fields.size > MAX_INDEXED_FIELDS) problems.push(`at most ${MAX_INDEXED_FIELDS} fields may be declared, not ${fields.size}`);
  return { fields: [...fields.values()], problems };
}

export function fieldIndexName(path: readonly string[]): string {
  return FIELD_INDEX_PREFIX + createHash('sha256').update(JSON.stringify(path)).digest('hex').slice(0, 16);
}

/** The declared field whose index serves a filter on `path`, if one does. */
export function declaredField(fields: readonly IndexedField[], path: readonly string[]): IndexedField | undefined {
  const index = fieldIndexName(path);
  return fields.find((field) => field.index === index);
}

/** What makes the database's field indexes those declared: which to create, which to drop. */
export function fieldIndexChanges(existing: readonly string[], fields: readonly IndexedField[]): { create: IndexedField[]; drop: string[] } {
  const wanted = new Set(fields.map((field) => field.index));
  return {
    create: fields.filter((field) => !existing.includes(field.index)),
    drop: existing.filter((name) => name.startsWith(FIELD_INDEX_PREFIX) && !wanted.has(name)),
  };
}
