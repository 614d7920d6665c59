import { HttpError } from '../http/http-error.js';

/** A query parameter naming a tree size (a number of events), or undefined when it is absent. */
export function treeSizeParam(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null) return undefined;
  const size = Number(text);
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(size)) {
    throw new HttpError(400, `${name} must be a tree size: a whole number of events, such as ${name}=1000; got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return size;
}
