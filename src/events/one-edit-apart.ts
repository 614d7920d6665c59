/**
 * Whether `a` becomes `b` by exactly one edit: a character inserted, removed or replaced, or two
 * neighbours swapped (`ordr`, `orders`, `oder`, `Order`, `oredr` are each one edit from `order`).
 * Equal strings are not one edit apart.
 */
export function oneEditApart(a: string, b: string): boolean {
  if (a === b || Math.abs(a.length - b.length) > 1) return false;
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  // What differs, once the common head and tail are set aside.
  const restA = a.slice(start, endA);
  const restB = b.slice(start, endB);
  if (restA.length + restB.length <= 1) return true; // one inserted or removed
  if (restA.length === 1 && restB.length === 1) return true; // one replaced
  return restA.length === 2 && restB.length === 2 && restA[0] === restB[1] && restA[1] === restB[0]; // a swap
}
