import { unstorableJsonReason } from '../events/storable-data.js';

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * Whether a data filter's value is spelled as a number an event can hold, so that it may match a
 * number field as well as a string (a number no event can hold, storable-data.ts, is one neither
 * database could parse either).
 */
export function isStorableNumber(value: string): boolean {
  return JSON_NUMBER.test(value) && unstorableJsonReason(value) === undefined;
}
