/**
 * The API key lives in sessionStorage only: gone when the tab closes, never in a URL, a cookie or
 * localStorage, so that a shared link or a borrowed browser carries no key.
 */
const NAME = 'auditor.apiKey';

export function readKey(): string | undefined {
  return sessionStorage.getItem(NAME) ?? undefined;
}

export function keepKey(key: string): void {
  sessionStorage.setItem(NAME, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(NAME);
}
