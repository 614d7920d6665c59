/** A token bucket per name: `ratePerSecond` tokens refill each second, up to `burst`. */
export type RateLimiter = {
  /** Takes one token for `name`; when none is left, says how long until one is. */
  take(name: string): { allowed: true } | { allowed: false; retryAfterSeconds: number };
  /** Seconds until `name` has a token, without taking one; 0 when it has one now. */
  wait(name: string): number;
};

type Bucket = { tokens: number; updatedMs: number };

/**
 * Token buckets kept in a Map in insertion order of last use; past `maxNames` the least recently
 * used are dropped, so a flood of distinct names (addresses) cannot grow memory without bound.
 * A dropped name starts again with a full bucket, which only ever errs toward letting through.
 */
export function createRateLimiter(options: {
  ratePerSecond: number;
  burst: number;
  maxNames?: number;
  now?: () => number;
}): RateLimiter {
  const { ratePerSecond, burst } = options;
  const maxNames = options.maxNames ?? 100_000;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();

  const refill = (name: string): Bucket => {
    const at = now();
    let bucket = buckets.get(name);
    if (bucket === undefined) {
      bucket = { tokens: burst, updatedMs: at };
      if (buckets.size >= maxNames) buckets.delete(buckets.keys().next().value as string);
    } else {
      buckets.delete(name); // re-inserted below: the Map's order is the order of last use
      bucket.tokens = Math.min(burst, bucket.tokens + ((at - bucket.updatedMs) / 1000) * ratePerSecond);
      bucket.updatedMs = at;
    }
    buckets.set(name, bucket);
    return bucket;
  };
  const secondsUntilToken = (bucket: Bucket): number => Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond));

  return {
    take(name) {
      const bucket = refill(name);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { allowed: true };
      }
      return { allowed: false, retryAfterSeconds: secondsUntilToken(bucket) };
    },
    wait(name) {
      const bucket = refill(name);
      return bucket.tokens >= 1 ? 0 : secondsUntilToken(bucket);
    },
  };
}

/** Reads `rate` or `rate:burst` (burst defaults to twice the rate); `0` means no limit. */
export function parseRateLimit(text: string): { ratePerSecond: number; burst: number } | undefined {
  const match = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(text.trim());
  if (match === null) return undefined;
  const ratePerSecond = Number(match[1]);
  const burst = match[2] === undefined ? Math.max(1, Math.ceil(ratePerSecond * 2)) : Number(match[2]);
  if (ratePerSecond > 0 && burst < 1) return undefined;
  return { ratePerSecond, burst };
}
