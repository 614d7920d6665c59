/**
 * Bytes in the browser: what verifier/ does with node:crypto and Buffer, done with the Web Platform
 * alone (crypto.subtle, atob, TextEncoder), so the page and the Node tests run the same code.
 */

/** SHA-256 of the parts, one after another. */
export async function sha256(...parts: readonly Uint8Array[]): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', concat(parts)));
}

export function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Standard base64 with its padding, in its one canonical spelling, as verifier/signed-note.ts's
 * strictBase64: atob, like Buffer.from, ignores the unused bits of the last digit, which would let
 * a bit of a signature line be flipped and the note still verify; so the bytes are spelled again
 * and compared.
 */
export function strictBase64(text: string): Uint8Array | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return btoa(binary) === text ? bytes : undefined;
}
