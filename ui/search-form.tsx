import { useState } from 'preact/hooks';
import { isoToLocal, localToIso, splitTypes, type DataFilter, type Search } from './search.js';

const PRESETS: { label: string; ms: number }[] = [
  { label: 'Last hour', ms: 60 * 60 * 1000 },
  { label: 'Last 24 hours', ms: 24 * 60 * 60 * 1000 },
  { label: 'Last 7 days', ms: 7 * 24 * 60 * 60 * 1000 },
];

/** The search's fields, filled from `initial` (the URL's search); submitting hands a whole Search up. */
export function SearchForm({ initial, onSearch }: { initial: Search; onSearch: (search: Search) => void }) {
  const [userId, setUserId] = useState(initial.userId);
  const [types, setTypes] = useState(initial.eventTypes.join(', '));
  const [filters, setFilters] = useState<DataFilter[]>(initial.filters);
  const [from, setFrom] = useState(isoToLocal(initial.since));
  const [to, setTo] = useState(isoToLocal(initial.until));
  const [order, setOrder] = useState(initial.order);

  const submit = (event: Event): void => {
    event.preventDefault();
    onSearch({
      userId: userId.trim(),
      eventTypes: splitTypes(types),
      filters: filters.map((filter) => ({ name: filter.name.trim(), value: filter.value })).filter((filter) => filter.name !== ''),
      since: localToIso(from),
      until: localToIso(to),
      order,
    });
  };
  const setFilter = (index: number, change: Partial<DataFilter>): void =>
    setFilters(filters.map((filter, i) => (i === index ? { ...filter, ...change } : filter)));
  const preset = (ms: number): void => {
    setFrom(isoToLocal(new Date(Date.now() - ms).toISOString()));
    setTo('');
  };

  return (
    <form class="search" onSubmit={submit} role="search" aria-label="Search events">
      <div class="field">
        <label for="user">User</label>
        <input id="user" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} autocomplete="off" />
      </div>
      <div class="field">
        <label for="event-type">Event type</label>
        <input id="event-type" value={types} onInput={(e) => setTypes(e.currentTarget.value)} aria-describedby="event-type-help" autocomplete="off" />
        <span id="event-type-help" class="note">Several: separate them with commas.</span>
      </div>
      <fieldset class="filters">
        <legend>Data filters</legend>
        <p class="note">A field of <code>data</code> (dotted for nested: <code>address.city</code>) and the value it equals.</p>
        {filters.map((filter, index) => (
          <div class="filter" key={index}>
            <input aria-label={`Field ${index + 1}`} placeholder="field" value={filter.name} onInput={(e) => setFilter(index, { name: e.currentTarget.value })} />
            <span aria-hidden="true">=</span>
            <input aria-label={`Value ${index + 1}`} placeholder="value" value={filter.value} onInput={(e) => setFilter(index, { value: e.currentTarget.value })} />
            <button type="button" onClick={() => setFilters(filters.filter((_, i) => i !== index))} aria-label={`Remove filter ${index + 1}`}>Remove</button>
          </div>
        ))}
        <button type="button" onClick={() => setFilters([...filters, { name: '', value: '' }])}>Add filter</button>
      </fieldset>
      <fieldset class="range">
        <legend>Time</legend>
        <div class="field">
          <label for="from">From</label>
          <input id="from" type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="to">To</label>
          <input id="to" type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </div>
        <div class="presets">
          {PRESETS.map(({ label, ms }) => (
            <button type="button" key={label} onClick={() => preset(ms)}>{label}</button>
          ))}
        </div>
      </fieldset>
      <div class="field">
        <label for="order">Order</label>
        <select id="order" value={order} onChange={(e) => setOrder(e.currentTarget.value === 'asc' ? 'asc' : 'desc')}>
          <option value="desc">Newest first</option>
          <option value="asc">Oldest first</option>
        </select>
      </div>
      <button type="submit" class="primary">Search</button>
    </form>
  );
}
