import { useState } from 'preact/hooks';
import { ApiError, callApi } from './api.js';

/**
 * Asks for a key and checks it with the smallest read there is (one event) before keeping it, so
 * that a wrong key is said here, not as a failed search later.
 */
export function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState('');

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const pasted = key.trim();
    if (pasted === '') {
      setError('Paste an API key with the read (or admin) scope first.');
      return;
    }
    setChecking(true);
    setError('');
    try {
      await callApi('/events?limit=1', pasted);
      onSignedIn(pasted);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
      setChecking(false);
    }
  };

  return (
    <form class="sign-in" onSubmit={submit} aria-describedby="sign-in-help">
      <h2>Sign in</h2>
      <p id="sign-in-help">
        Paste a key with the <code>read</code> or <code>admin</code> scope. It is kept in this tab only and forgotten when
        the tab closes or you sign out.
      </p>
      <label for="api-key">API key</label>
      <input
        id="api-key"
        type="password"
        autocomplete="off"
        spellcheck={false}
        value={key}
        onInput={(event) => setKey(event.currentTarget.value)}
        aria-invalid={error !== ''}
        aria-describedby={error === '' ? undefined : 'sign-in-error'}
      />
      <button type="submit" disabled={checking}>Sign in</button>
      {checking && <p role="status">Checking the key…</p>}
      {error !== '' && <p id="sign-in-error" class="error" role="alert">{error}</p>}
    </form>
  );
}
