/**
 * AUDITOR_RETENTION: how long events keep their payload, by event_type, such as
 * `default=400d,login=90d,payment=7y`. `default` applies to every type not named; without it,
 * types not named are kept for ever, as is everything when there is no policy. System events
 * (auditor.*) are never removed, so they cannot be named.
 */
export type RetentionPolicy = {
  /** The policy's text, normalised (as the log's retention events quote it). */
  text: string;
  /** The age of the types not named, in ms; undefined keeps them. */
  defaultAgeMs: number | undefined;
  /** The age of each type named, in ms. */
  ageByType: ReadonlyMap<string, number>;
};

/** The instant before which an event's payload is removed: one per type named, and the default's. */
export type RetentionCutoffs = { defaultBeforeMs: number | undefined; beforeByType: ReadonlyMap<string, number> };

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, y: 365 * 86_400_000 } as const;
/** Ages beyond a thousand years would overflow nothing, but are surely a typo. */
const MAX_AGE_MS = 1000 * UNIT_MS.y;

/** The policy, or the problems that make it unreadable, each one line for ConfigError. */
export function parseRetentionPolicy(text: string): { policy: RetentionPolicy | undefined; problems: string[] } {
  const problems: string[] = [];
  if (text.trim() === '') return { policy: undefined, problems };
  let defaultAgeMs: number | undefined;
  const ageByType = new Map<string, number>();
  const parts: string[] = [];
  for (const entry of text.split(',').map((part) => part.trim())) {
    const match = /^(.+?)\s*=\s*(\d+)\s*([smhdy])$/.exec(entry);
    if (match === null) {
      problems.push(`"${entry}" is not <event_type or default>=<age> with an age such as 90d, 12h or 7y`);
      continue;
    }
    const [, name, amount, unit] = match as unknown as [string, string, string, keyof typeof UNIT_MS];
    const ageMs = Number(amount) * UNIT_MS[unit];
    if (ageMs <= 0 || ageMs > MAX_AGE_MS) problems.push(`"${entry}": the age must be more than 0 and at most 1000y`);
    else if (name.startsWith('auditor.')) problems.push(`"${entry}": system events (auditor.*) are never removed`);
    else if (name === 'default' ? defaultAgeMs !== undefined : ageByType.has(name)) problems.push(`"${name}" is given twice`);
    else if (name === 'default') defaultAgeMs = ageMs;
    else ageByType.set(name, ageMs);
    parts.push(`${name}=${amount}${unit}`);
  }
  if (problems.length > 0) return { policy: undefined, problems };
  return { policy: { text: parts.join(','), defaultAgeMs, ageByType }, problems };
}

/** The cutoffs of the policy at `nowMs`. */
export function cutoffsAt(policy: RetentionPolicy, nowMs: number): RetentionCutoffs {
  return {
    defaultBeforeMs: policy.defaultAgeMs === undefined ? undefined : nowMs - policy.defaultAgeMs,
    beforeByType: new Map([...policy.ageByType].map(([type, ageMs]) => [type, nowMs - ageMs])),
  };
}

/** The instant before which an event of `eventType` loses its payload; undefined when it is kept. */
export function cutoffFor(cutoffs: RetentionCutoffs, eventType: string): number | undefined {
  if (eventType.startsWith('auditor.')) return undefined;
  return cutoffs.beforeByType.get(eventType) ?? cutoffs.defaultBeforeMs;
}
