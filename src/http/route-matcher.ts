import type { Route, RouteTable } from './route.js';

export type RouteMatch = {
  /** The pattern as the table declares it (`/events/{id}`): a bounded label for logs and metrics. */
  pattern: string;
  /** The routes of the pattern, by method. */
  methods: Readonly<Partial<Record<string, Route>>>;
  /** The path's parameters, decoded. */
  pathParams: Readonly<Record<string, string>>;
};

/** A segment of a pattern: literal text, or the name of a parameter. */
type Segment = { literal: string } | { parameter: string };

type CompiledPattern = { pattern: string; segments: Segment[]; methods: RouteMatch['methods'] };

const PARAMETER = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const NO_PARAMETERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Returns the matcher of `table`'s patterns. A path matches a pattern with as many segments, each
 * literal segment equal to the path's (as sent: `/EVENTS` and `/ev%65nts` are not `/events`), each
 * parameter taking one non-empty segment, percent-decoded (one that does not decode matches
 * nothing). Where two patterns match, the one whose first differing segment is literal wins:
 * `/events/batch` before `/events/{id}`, whatever the table's order. A malformed pattern throws
 * here, when the app is made.
 */
export function createRouteMatcher(table: RouteTable): (path: string) => RouteMatch | undefined {
  const exact = new Map<string, RouteMatch>();
  const parametric: CompiledPattern[] = [];
  for (const [pattern, methods] of Object.entries(table)) {
    const segments = compile(pattern);
    if (segments.every((segment) => 'literal' in segment)) exact.set(pattern, { pattern, methods, pathParams: NO_PARAMETERS });
    else parametric.push({ pattern, segments, methods });
  }
  parametric.sort((a, b) => specificity(a.segments, b.segments));

  return (path) => {
    const found = exact.get(path);
    if (found !== undefined || parametric.length === 0) return found;
    const parts = path.split('/');
    for (const candidate of parametric) {
      const pathParams = matchSegments(candidate.segments, parts);
      if (pathParams !== undefined) return { pattern: candidate.pattern, methods: candidate.methods, pathParams };
    }
    return undefined;
  };
}

function compile(pattern: string): Segment[] {
  if (!pattern.startsWith('/')) throw new Error(`route pattern ${JSON.stringify(pattern)} must start with /`);
  const names = new Set<string>();
  return pattern.split('/').map((text): Segment => {
    const parameter = PARAMETER.exec(text)?.[1];
    if (parameter === undefined) {
      if (/[{}]/.test(text)) throw new Error(`route pattern ${JSON.stringify(pattern)}: a parameter is a whole segment, {name}`);
      return { literal: text };
    }
    if (names.has(parameter)) throw new Error(`route pattern ${JSON.stringify(pattern)} names {${parameter}} twice`);
    names.add(parameter);
    return { parameter };
  });
}

/** Negative when `a` is the more specific: the first segment where one is literal and the other not decides. */
function specificity(a: readonly Segment[], b: readonly Segment[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const literalA = 'literal' in a[i]!;
    if (literalA !== 'literal' in b[i]!) return literalA ? -1 : 1;
  }
  return 0;
}

function matchSegments(segments: readonly Segment[], parts: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const pathParams: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if ('literal' in segment) {
      if (part !== segment.literal) return undefined;
    } else {
      if (part === '') return undefined;
      try {
        pathParams[segment.parameter] = decodeURIComponent(part);
      } catch {
        return undefined; // malformed percent-encoding names nothing
      }
    }
  }
  return pathParams;
}
