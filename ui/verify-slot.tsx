import type { AuditEvent } from './event.js';

/**
 * VERIFY GOES HERE. The "Verify" button of issue 17: ui/verify/verify-event-in-browser.ts (written
 * on its own branch) exports verifyEventInBrowser({ event, proofJson, checkpointText, verifierKey }),
 * which checks in the browser that this event is in the signed log. Wire it in here: fetch
 * GET /events/{id}/proof, GET /checkpoint and GET /checkpoint/key with the key, call it, and show
 * the result with the checkpoint's size and time. Until then this renders nothing.
 */
export function VerifySlot(_props: { event: AuditEvent; apiKey: string }) {
  return null;
}
