import { HttpError } from './http-error.js';

/**
 * Picks the representation the client prefers among `offered` (RFC 9110 §12.5.1: q-values,
 * `type/*` and `*\/*`; on a tie, the first offered wins). No Accept header means the first offered.
 * Throws 406 when the client accepts none of them.
 */
export function negotiate<T extends string>(accept: string | undefined, offered: readonly T[]): T {
  if (accept === undefined || accept.trim() === '') return offered[0]!;
  let best: { type: T; quality: number } | undefined;
  for (const type of offered) {
    const quality = qualityOf(accept, type);
    if (quality > 0 && (best === undefined || quality > best.quality)) best = { type, quality };
  }
  if (best === undefined) {
    throw new HttpError(406, `Cannot answer with any of "${accept}"; available: ${offered.join(', ')}`);
  }
  return best.type;
}

/** The q-value the Accept header gives `type`, from its most specific matching range. */
function qualityOf(accept: string, type: string): number {
  const [major] = type.split('/');
  let found: { specificity: number; quality: number } | undefined;
  for (const range of accept.split(',')) {
    const [name = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const specificity = name === type ? 3 : name === `${major}/*` ? 2 : name === '*/*' ? 1 : 0;
    if (specificity === 0) continue;
    let quality = 1;
    for (const parameter of parameters) {
      const [key, value] = parameter.split('=').map((part) => part.trim());
      if (key === 'q') quality = Math.min(1, Math.max(0, Number(value) || 0));
    }
    if (found === undefined || specificity > found.specificity) found = { specificity, quality };
  }
  return found?.quality ?? 0;
}
