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

/**
 * The expression a declared field's index is built on, and a query on that field names: SQLite
 * matches an indexed expression only against the same text with the same constant path, never a
 * bound one. The path is a SQL string literal (JSON-quoted segments, quotes doubled), so no field
 * name can change the statement's shape.
 */
export function sqliteFieldExpression(path: readonly string[]): string {
  return `json_extract(data, '${toSqliteJsonPath(path).replace(/'/g, "''")}')`;
}
