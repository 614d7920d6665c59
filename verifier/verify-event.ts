/**
 * npm run verify-event -- --event e.json --proof p.json --checkpoint c.txt --key KEY|FILE
 * Proves, with no database and no secret, that a saved event is in the log. See README.md.
 */
import { checkEvent } from './check-event.js';
import { runCommand } from './cli.js';

runCommand({
  name: 'verify-event',
  usage: `usage: npm run verify-event -- --event FILE --proof FILE --checkpoint FILE --key KEY|FILE

Proves that an event is in the log, with no database and no secret:
  --event FILE       the event, as GET /events/{id} served it (pretty-printed is fine)
  --proof FILE       its inclusion proof, from GET /events/{id}/proof?size=N
  --checkpoint FILE  the log's signed checkpoint of that size, from GET /checkpoint (?size=N)
  --key KEY|FILE     the log's verifier key (GET /checkpoint/key), or a file holding it
Exit status: 0 valid, 1 invalid (says what failed), 2 unusable input (says which).`,
  required: ['event', 'proof', 'checkpoint', 'key'],
  check: (texts) => checkEvent({ event: texts.event!, proof: texts.proof!, checkpoint: texts.checkpoint!, key: texts.key! }),
});
