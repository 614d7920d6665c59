/**
 * A SQLite JSON path for a field name path: ['a b', 'c'] → `$."a b"."c"`. Each segment is quoted
 * as a JSON string, whose escapes SQLite's path labels understand, so any name addresses exactly
 * that key and none can change the shape of the path. The path is bound as a parameter, never
 * spliced into SQL.
 */
export function toSqliteJsonPath(path: readonly string[]): string {
  let jsonPath = '$';
  for (const segment of path) jsonPath += '.' + JSON.stringify(segment);
  return jsonPath;
}
