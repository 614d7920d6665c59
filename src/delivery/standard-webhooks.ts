/**
 * Signing as the Standard Webhooks specification says (standardwebhooks.com): a secret is
 * `whsec_` and base64 of random bytes; a delivery carries `webhook-id`, `webhook-timestamp` (Unix
 * seconds) and `webhook-signature`, `v1,` and base64 of HMAC-SHA256 over `id.timestamp.body` keyed
 * with the secret's bytes. A receiver checks it with the `standardwebhooks` package (or any of the
 * specification's libraries) in three lines. Five lines of node:crypto here, not a dependency.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
/** Bytes of a new secret: the specification asks for 24 to 64. */
const SECRET_BYTES = 32;

export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** The value of `webhook-signature` for a delivery. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}
