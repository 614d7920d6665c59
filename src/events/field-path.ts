/**
 * A field of `data` named as a query names it, `address.city` → ['address', 'city'], or undefined
 * when a dot has no name on one side. Any characters are allowed in a segment but NUL, which no
 * stored event can hold (see storable-data.ts).
 */
export function parseFieldPath(name: string): string[] | undefined {
  const path = name.split('.');
  return path.some((segment) => segment === '') ? undefined : path;
}
