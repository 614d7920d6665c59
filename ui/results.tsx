import { Component } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, callApi, nextPage } from './api.js';
import { localTime, removalNote, toEvents, type AuditEvent } from './event.js';
import { PAGE_SIZE, searchParams, type Search } from './search.js';

type State =
  | { status: 'loading'; pages: AuditEvent[][]; next: string | undefined }
  | { status: 'shown'; pages: AuditEvent[][]; next: string | undefined }
  | { status: 'failed'; pages: AuditEvent[][]; next: string | undefined; message: string; retry: string };

/**
 * The events of a search, a page of PAGE_SIZE at a time, following the API's cursor (the Link
 * header): a user with millions of events opens as fast as one with ten.
 */
/** Keyed by its search (and each press of Search) by its parent: a new search is a new list. */
export function Results({ search, apiKey }: { search: Search; apiKey: string }) {
  const [state, setState] = useState<State>({ status: 'loading', pages: [], next: undefined });

  const load = async (path: string, pages: AuditEvent[][], signal?: AbortSignal): Promise<void> => {
    setState({ status: 'loading', pages, next: undefined });
    try {
      const response = await callApi(path, apiKey);
      const events = toEvents(await response.json());
      if (signal?.aborted === true) return;
      setState({ status: 'shown', pages: events.length === 0 ? pages : [...pages, events], next: nextPage(response) });
    } catch (failure) {
      if (signal?.aborted === true) return;
      const message = failure instanceof ApiError || failure instanceof Error ? failure.message : String(failure);
      setState({ status: 'failed', pages, next: undefined, message, retry: path });
    }
  };

  useEffect(() => {
    const abandoned = new AbortController();
    const params = searchParams(search);
    params.set('limit', String(PAGE_SIZE));
    void load(`/events?${params}`, [], abandoned.signal);
    return () => abandoned.abort();
  }, []);

  const count = state.pages.reduce((sum, page) => sum + page.length, 0);
  return (
    <section class="results" aria-labelledby="results-heading">
      <h2 id="results-heading">Events</h2>
      {count > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Events found">
          <table>
            <caption>{count} {count === 1 ? 'event' : 'events'} shown{state.next === undefined ? '' : ', more to load'}</caption>
            <thead>
              <tr><th scope="col">Time</th><th scope="col">User</th><th scope="col">Type</th><th scope="col">Data</th></tr>
            </thead>
            {state.pages.map((events, index) => <ResultPage events={events} key={index} />)}
          </table>
        </div>
      )}
      <ResultsStatus state={state} count={count} />
      {state.status === 'shown' && state.next !== undefined && (
        <button type="button" onClick={() => void load(state.next!, state.pages)}>Load more</button>
      )}
      {state.status === 'failed' && (
        <button type="button" onClick={() => void load(state.retry, state.pages)}>Try again</button>
      )}
    </section>
  );
}

function ResultsStatus({ state, count }: { state: State; count: number }) {
  if (state.status === 'loading') return <p role="status" class="note">Loading events…</p>;
  if (state.status === 'failed') return <p role="alert" class="error">{state.message}</p>;
  if (count === 0) {
    return <p role="status">No events match this search. Widen the time range, or remove a filter, then search again.</p>;
  }
  return <p role="status" class="note">{state.next === undefined ? 'That is every matching event.' : ''}</p>;
}

/** One page's rows: rendered once, so that loading page 100 does not re-render the 99 before it. */
class ResultPage extends Component<{ events: AuditEvent[] }> {
  override shouldComponentUpdate(next: { events: AuditEvent[] }): boolean {
    return next.events !== this.props.events;
  }

  override render() {
    return (
      <tbody>
        {this.props.events.map((event) => (
          <tr key={event.id}>
            <td>
              <a href={`#/events/${encodeURIComponent(event.id)}`}>
                <time dateTime={event.timestamp} title={event.timestamp}>{localTime(event.timestamp)}</time>
              </a>
            </td>
            <td>{event.user_id}</td>
            <td>{event.event_type}</td>
            <td>{event.removed === undefined ? <code class="data">{compact(event.data)}</code> : <span class="note">{removalNote(event.removed)}</span>}</td>
          </tr>
        ))}
      </tbody>
    );
  }
}

const COMPACT_CHARS = 120;

function compact(data: unknown): string {
  if (data === undefined) return '';
  const text = JSON.stringify(data);
  return text.length > COMPACT_CHARS ? `${text.slice(0, COMPACT_CHARS - 1)}…` : text;
}
