import { useEffect, useState } from 'preact/hooks';

/** The location's hash, kept current: the page's routes and its search both live there. */
export function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = (): void => setHash(location.hash);
    addEventListener('hashchange', changed);
    // The hash may have changed between the first render and this effect (a link followed as the
    // page loads, under load): catch up, or that change would be missed until the next one.
    changed();
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

/** What a hash shows: one event's page, or a search (`#/?user_id=…`; `#/` or nothing: every event). */
export type Route = { page: 'event'; id: string } | { page: 'search'; query: string };

export function routeOf(hash: string): Route {
  const event = /^#\/events\/([^?]+)$/.exec(hash);
  if (event !== null) {
    try {
      return { page: 'event', id: decodeURIComponent(event[1]!) };
    } catch {
      return { page: 'event', id: event[1]! };
    }
  }
  const question = hash.indexOf('?');
  return { page: 'search', query: question === -1 ? '' : hash.slice(question + 1) };
}
