import { useState } from 'preact/hooks';
import { callApi } from './api.js';
import { verifyEventInBrowser, type VerifyEventResult } from './verify/verify-event-in-browser.js';

type State =
  | { status: 'idle' }
  | { status: 'checking' }
  | { status: 'done'; result: VerifyEventResult }
  | { status: 'failed'; message: string };

/**
 * "Verify": proves in this browser that the event on the page is in the signed log. The page
 * fetches the event's inclusion proof, the checkpoint of the tree it proves against and the log's
 * key, and checks them itself (ui/verify: SHA-256 and Ed25519 by WebCrypto), as `npm run
 * verify-event` would offline. The key comes from the same service, so the result names it: an
 * auditor compares it with the key they keep, which is what makes the check independent.
 */
export function VerifyInLog({ id, eventText, apiKey }: { id: string; eventText: string; apiKey: string }) {
  const [state, setState] = useState<State>({ status: 'idle' });

  const verify = async (): Promise<void> => {
    setState({ status: 'checking' });
    try {
      const proofText = await (await callApi(`/events/${encodeURIComponent(id)}/proof`, apiKey)).text();
      const size = treeSizeOf(proofText);
      const checkpointText = await (await callApi(`/checkpoint?size=${size}`, apiKey, 'text/plain')).text();
      const verifierKey = (await (await callApi('/checkpoint/key', apiKey, 'text/plain')).text()).trim();
      setState({ status: 'done', result: await verifyEventInBrowser({ event: eventText, proofJson: proofText, checkpointText, verifierKey }) });
    } catch (failure) {
      setState({ status: 'failed', message: failure instanceof Error ? failure.message : String(failure) });
    }
  };

  return (
    <section class="verify" aria-labelledby="verify-heading">
      <h3 id="verify-heading">In the signed log?</h3>
      <button type="button" onClick={() => void verify()} disabled={state.status === 'checking'}>Verify</button>
      <div role="status" aria-live="polite">
        {state.status === 'checking' && <p class="note">Fetching the proof and the checkpoint, and checking them in this browser…</p>}
        {state.status === 'failed' && <p class="error">The proof could not be fetched: {state.message}</p>}
        {state.status === 'done' && <Verdict result={state.result} />}
      </div>
    </section>
  );
}

function Verdict({ result }: { result: VerifyEventResult }) {
  if (!result.valid) return <p class="error verdict">Not verified: {result.reason}.</p>;
  const { removed } = result;
  return (
    <div class="verdict valid">
      <p><strong>Verified</strong>: this event is entry {result.leafIndex + 1} of the log's signed tree of {result.size} events.</p>
      {removed !== undefined && (
        // Said plainly: what is proven of a removed event is less than of a whole one.
        <p class="note removal">
          {removed.checked === 'fields'
            ? 'Its id, time, user and type are as logged; its data was removed, so the data cannot be checked.'
            : 'It was erased with its user: only its leaf\'s place in the tree is proven; its id, time, user and type can no longer be checked against the leaf.'}
          {' '}The removal ({removed.reason}, <time dateTime={removed.at}>{removed.at}</time>) is what the event says; its record{' '}
          <a href={`#/events/${encodeURIComponent(removed.by)}`}><code>{removed.by}</code></a> is an event of the log, to be verified in its turn.
        </p>
      )}
      <p class="note">
        Checked in this browser: its leaf, the inclusion proof up to the checkpoint's root, and the checkpoint's
        Ed25519 signature by the key <code>{result.keyName}</code> (ID <code>{result.keyId}</code>), which this
        service serves: compare it with the key you keep.
        {result.timestamp !== undefined && <> A witness cosigned this checkpoint at <time dateTime={result.timestamp}>{result.timestamp}</time> (its signature not checked here).</>}
      </p>
    </div>
  );
}

/** The tree size an inclusion proof is for; a proof without one is sent to the check, which names what is wrong. */
function treeSizeOf(proofText: string): number {
  try {
    const proof: unknown = JSON.parse(proofText);
    if (typeof proof === 'object' && proof !== null && 'tree_size' in proof && typeof proof.tree_size === 'number') return proof.tree_size;
  } catch {
    // not JSON: fall through
  }
  throw new Error('the service sent an inclusion proof without its tree size.');
}
