import { useRef, useState } from 'preact/hooks';
import { EventPage } from './event-page.js';
import { ExportButtons } from './export-buttons.js';
import { forgetKey, keepKey, readKey } from './key-store.js';
import { Results } from './results.js';
import { SearchForm } from './search-form.js';
import { parseSearch, searchParams, type Search } from './search.js';
import { SignIn } from './sign-in.js';
import { routeOf, useHash } from './use-hash.js';

/** The viewer: sign in, then a search (the hash holds it) or one event's page. */
export function App() {
  const [apiKey, setApiKey] = useState(readKey());
  const [runs, setRuns] = useState(0);
  /** Where "Back to the search" goes from an event's page: the search it was opened from. */
  const lastSearch = useRef('#/');
  const hash = useHash();
  const route = routeOf(hash);

  const signOut = (): void => {
    forgetKey();
    setApiKey(undefined);
  };
  const search = (next: Search): void => {
    const target = `#/?${searchParams(next)}`;
    if (target === location.hash) setRuns(runs + 1); // the same search again: run it again
    else location.hash = target;
  };

  let page;
  if (apiKey === undefined) {
    page = <SignIn onSignedIn={(key) => { keepKey(key); setApiKey(key); }} />;
  } else if (route.page === 'event') {
    page = <EventPage id={route.id} apiKey={apiKey} back={lastSearch.current} />;
  } else {
    const current = parseSearch(route.query);
    lastSearch.current = hash === '' ? '#/' : hash;
    page = (
      <>
        <SearchForm key={route.query} initial={current} onSearch={search} />
        <ExportButtons search={current} apiKey={apiKey} />
        <Results key={`${route.query}#${runs}`} search={current} apiKey={apiKey} />
      </>
    );
  }

  return (
    <>
      <header>
        <h1><a href="#/">Auditor</a></h1>
        {apiKey !== undefined && <button type="button" onClick={signOut}>Sign out</button>}
      </header>
      <main>{page}</main>
    </>
  );
}
