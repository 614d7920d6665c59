import { useState } from 'preact/hooks';
import { ApiError, callApi } from './api.js';
import { searchParams, type Search } from './search.js';

const FORMATS = [
  { label: 'Export CSV', accept: 'text/csv', extension: 'csv' },
  { label: 'Export NDJSON', accept: 'application/x-ndjson', extension: 'ndjson' },
] as const;

/**
 * Every event of the search, as the API streams it (all=true): the page only saves what arrives,
 * it never builds the file, so an export is the API's own CSV or NDJSON.
 */
export function ExportButtons({ search, apiKey }: { search: Search; apiKey: string }) {
  const [said, setSaid] = useState('');
  const [busy, setBusy] = useState(false);

  const download = async (accept: string, extension: string): Promise<void> => {
    const params = searchParams(search);
    params.set('all', 'true');
    setBusy(true);
    setSaid('Exporting…');
    try {
      const response = await callApi(`/events?${params}`, apiKey, accept);
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = `auditor-events-${new Date().toISOString().replace(/[:.]/g, '-')}.${extension}`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000); // the download reads it after click() returns
      setSaid(`Exported ${blob.size.toLocaleString()} bytes as ${extension.toUpperCase()}.`);
    } catch (failure) {
      setSaid(failure instanceof ApiError ? `Export failed: ${failure.message}` : `Export failed: ${String(failure)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="toolbar">
      {FORMATS.map(({ label, accept, extension }) => (
        <button type="button" key={label} disabled={busy} onClick={() => void download(accept, extension)}>{label}</button>
      ))}
      <label class="live">
        <input type="checkbox" disabled aria-describedby="live-help" /> Live
      </label>
      <span id="live-help" class="note">Live delivery is not available yet: search again to see new events.</span>
      <span role="status" class="note">{said}</span>
    </div>
  );
}
