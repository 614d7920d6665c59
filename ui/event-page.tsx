import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, callApi } from './api.js';
import { CopyButton } from './copy-button.js';
import { localTime, removalNote, toEvent, type AuditEvent } from './event.js';
import { EMPTY_SEARCH, searchParams } from './search.js';
import { VerifyInLog } from './verify-in-log.js';

/** The event with the text it came as: the check of its place in the log hashes that text, not a re-serialisation. */
type State = { status: 'loading' } | { status: 'shown'; event: AuditEvent; text: string } | { status: 'failed'; message: string };

/** One event, every field of it, from GET /events/{id}. */
export function EventPage({ id, apiKey, back }: { id: string; apiKey: string; back: string }) {
  const [state, setState] = useState<State>({ status: 'loading' });
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    heading.current?.focus(); // a new page: keyboard and screen-reader users start at its heading
    const abandoned = new AbortController();
    callApi(`/events/${encodeURIComponent(id)}`, apiKey)
      .then((response) => response.text())
      .then((text) => !abandoned.signal.aborted && setState({ status: 'shown', event: toEvent(JSON.parse(text)), text }))
      .catch((failure: unknown) => {
        if (abandoned.signal.aborted) return;
        const message = failure instanceof ApiError && failure.status === 404
          ? 'There is no event with this id. Check the link, or go back to the search.'
          : failure instanceof Error ? failure.message : String(failure);
        setState({ status: 'failed', message });
      });
    return () => abandoned.abort();
  }, [id]);

  return (
    <section class="event-page" aria-labelledby="event-heading">
      <p><a href={back}>Back to the search</a></p>
      <h2 id="event-heading" tabIndex={-1} ref={heading}>Event</h2>
      {state.status === 'loading' && <p role="status" class="note">Loading the event…</p>}
      {state.status === 'failed' && <p role="alert" class="error">{state.message}</p>}
      {state.status === 'shown' && <EventFields event={state.event} text={state.text} apiKey={apiKey} />}
    </section>
  );
}

function EventFields({ event, text, apiKey }: { event: AuditEvent; text: string; apiKey: string }) {
  const json = JSON.stringify(event.data, null, 2) ?? 'null';
  const userSearch = `#/?${searchParams({ ...EMPTY_SEARCH, userId: event.user_id })}`;
  return (
    <>
      <dl class="fields">
        <dt>ID</dt>
        <dd><code>{event.id}</code> <CopyButton text={event.id} label="Copy ID" /></dd>
        <dt>Time</dt>
        <dd>
          <time dateTime={event.timestamp} title={event.timestamp}>{localTime(event.timestamp)}</time>
          <span class="note"> ({event.timestamp})</span>
        </dd>
        <dt>User</dt>
        <dd><code>{event.user_id}</code> <a href={userSearch}>All events of this user</a></dd>
        <dt>Event type</dt>
        <dd><code>{event.event_type}</code></dd>
      </dl>
      <h3>Data</h3>
      {event.removed === undefined ? (
        <>
          <pre class="json" tabIndex={0} aria-label="Data as JSON">{json}</pre>
          <CopyButton text={json} label="Copy data" />
        </>
      ) : (
        <p class="note">
          {removalNote(event.removed)} (<time dateTime={event.removed.at}>{event.removed.at}</time>), as recorded by the
          event <a href={`#/events/${encodeURIComponent(event.removed.by)}`}><code>{event.removed.by}</code></a>.
        </p>
      )}
      <CopyButton text={JSON.stringify(event, null, 2)} label="Copy event as JSON" />
      <VerifyInLog id={event.id} eventText={text} apiKey={apiKey} />
    </>
  );
}
