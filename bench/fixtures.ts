/** The shape of the benchmark's data set, shared by the preload and the load it puts on. */
export const USERS = 10_000;
export const HOT_USER = 'user-hot';
/** One event in this many goes to the hot user (1,000,000 events → 200,000 for the hot user). */
export const HOT_EVERY = 5;
/** One hot-user event in this many carries `"flag":"rare"` (the sparse filter). */
export const RARE_EVERY = 1000;
export const EVENT_TYPES = ['login', 'logout', 'view', 'update', 'purchase'];

export function typicalUser(n: number): string {
  return `user-${n % (USERS - 1)}`;
}

/** A realistic small event body: an address, an amount, a status, a session id. */
export function eventData(n: number, rare = false): string {
  const data: Record<string, unknown> = {
    ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
    amount: (n * 7919) % 10_000,
    status: n % 10 === 0 ? 'failed' : 'ok',
    session: `s-${(n * 2654435761) % 4294967296}`,
  };
  if (rare) data.flag = 'rare';
  return JSON.stringify(data);
}

export function eventBody(n: number): string {
  return `{"user_id":"${typicalUser(n * 31)}","event_type":"${EVENT_TYPES[n % EVENT_TYPES.length]}","data":${eventData(n)}}`;
}
