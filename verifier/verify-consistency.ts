/**
 * npm run verify-consistency -- --old a.txt --new b.txt --proof p.json --key KEY|FILE
 * Proves, with no database and no secret, that the log's later checkpoint extends its earlier one.
 * See README.md.
 */
import { checkConsistency } from './check-consistency.js';
import { runCommand } from './cli.js';

runCommand({
  name: 'verify-consistency',
  usage: `usage: npm run verify-consistency -- --old FILE --new FILE [--proof FILE] --key KEY|FILE

Proves that the log's later checkpoint extends its earlier one: no event the earlier one covered was
changed, removed or reordered since. No database and no secret needed.
  --old FILE      the earlier signed checkpoint, as GET /checkpoint served it
  --new FILE      the later signed checkpoint
  --proof FILE    GET /proofs/consistency?from=OLD&to=NEW (not needed for equal sizes)
  --key KEY|FILE  the log's verifier key (GET /checkpoint/key), or a file holding it
Exit status: 0 valid, 1 invalid (says what failed: a rollback, a fork, a bad proof), 2 unusable
input (says which).`,
  required: ['old', 'new', 'key'],
  optional: ['proof'],
  check: (texts) => checkConsistency({ old: texts.old!, new: texts.new!, proof: texts.proof, key: texts.key! }),
});
