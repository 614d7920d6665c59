/**
 * npm run -s signing-key -- create --origin example.com/audit --out FILE | show --file FILE
 *
 * Makes the log's Ed25519 signing key (what every PostgreSQL instance is given as
 * AUDITOR_SIGNING_KEY_FILE; a SQLite log makes its own beside the database), and prints the
 * verifier key that auditors, witnesses and `npm run verify-event` check its checkpoints with.
 */
import { createSecretFile } from '../integrity/secret-file.js';
import { loadSigningKey, newSigningKeyText } from '../integrity/signing-key.js';
import { fail, startEntryPoint } from './entry-point.js';

const { values, command } = startEntryPoint({
  name: 'signing-key',
  usage: `usage: npm run -s signing-key -- create --origin NAME --out FILE
       npm run -s signing-key -- show --file FILE

  create   makes a new signing key named NAME (the log's origin, such as example.com/audit: no spaces
           or plus signs) in FILE, readable by its owner only; never replaces a file
  show     prints the verifier key of the signing key in FILE
Both print the verifier key alone on stdout. Exit status: 0 done, 2 refused (or a bad command line).`,
  options: { origin: { type: 'string' }, out: { type: 'string' }, file: { type: 'string' } },
  commands: { create: ['origin', 'out'], show: ['file'] },
  failStatus: 2,
  config: { requireChainSecret: false },
});

const path = (command === 'create' ? values.out : values.file) ?? fail(`${command} needs --${command === 'create' ? 'out' : 'file'} FILE`);
try {
  if (command === 'create') {
    const origin = values.origin ?? fail('create needs --origin NAME: the log\'s name, such as example.com/audit');
    if (!createSecretFile(path, newSigningKeyText(origin))) fail(`${path} exists already: it is never replaced (a log keeps its key)`);
    process.stderr.write(`Created ${path}. Give it to every instance as AUDITOR_SIGNING_KEY_FILE, keep a copy offline, and publish this verifier key:\n`);
  }
  console.log(loadSigningKey(path, { origin: undefined, create: false }).verifierKey);
} catch (error) {
  fail((error as Error).message);
}
