/**
 * npm run keys -- create --name billing --scope ingest | list | revoke --name billing
 *
 * Manages the keys file (AUDITOR_KEYS_FILE, default data/keys.json). `create` prints the new key
 * once, alone on standard output, so a script can capture it; everything else goes to stderr.
 * A running service accepts a created key at once and refuses a revoked one within a second.
 */
import { generateKey, hashKey, isKeyName, isReservedKeyName, isScope, readKeysFile, SCOPES, writeKeysFile } from '../auth/keys-file.js';
import { fail, startEntryPoint } from './entry-point.js';

const USAGE = `usage: npm run -s keys -- create --name NAME --scope ingest|read|admin
       npm run -s keys -- list
       npm run -s keys -- revoke --name NAME

Manages the keys file (AUDITOR_KEYS_FILE, default data/keys.json; read from the environment or .env).
It reads the service's whole configuration and, as the service would, refuses to run while a
variable is invalid (the one line names it).
  create   makes a key with a scope and prints it once, alone on stdout (only its SHA-256 is kept)
  list     prints each key's name, scope and creation date (never a key)
  revoke   removes a key; a running service refuses it within a second
Exit status: 0 done, 2 refused (or a bad command line).`;

const { values, command, config: { keysFile } } = startEntryPoint({
  name: 'keys',
  usage: USAGE,
  options: { name: { type: 'string' }, scope: { type: 'string' } },
  commands: { create: ['name', 'scope'], list: [], revoke: ['name'] },
  failStatus: 2,
});

let records;
try {
  // revoke and list also read a file holding a reserved name, so that the tool can repair it.
  records = readKeysFile(keysFile, { allowReservedNames: command !== 'create' });
} catch (error) {
  fail(`cannot read ${keysFile}: ${(error as Error).message}`);
}

switch (command) {
  case 'create': {
    const { name, scope } = values;
    if (!isKeyName(name)) fail('--name must be 1 to 64 letters, digits, dots, dashes or underscores');
    if (isReservedKeyName(name)) fail(`"${name}" is a name the service records itself (for AUDITOR_API_KEY, or for an event without a key); choose another --name`);
    if (!isScope(scope)) fail(`--scope must be one of ${SCOPES.join(', ')}`);
    if (records.some((record) => record.name === name)) fail(`a key named "${name}" exists; revoke it first`);
    const key = generateKey();
    writeKeysFile(keysFile, [...records, { name, scope, sha256: hashKey(key), createdAt: new Date().toISOString() }]);
    process.stderr.write(`Created key "${name}" with scope ${scope} in ${keysFile}. It is shown once, below; only its SHA-256 is kept.\n`);
    process.stdout.write(`${key}\n`);
    break;
  }
  case 'list': {
    if (records.length === 0) process.stderr.write(`No keys in ${keysFile}.\n`);
    for (const record of records) process.stdout.write(`${record.name}\t${record.scope}\t${record.createdAt}\n`);
    break;
  }
  case 'revoke': {
    const { name } = values;
    if (name === undefined) fail('revoke needs --name');
    if (!records.some((record) => record.name === name)) fail(`no key named "${name}" in ${keysFile}`);
    writeKeysFile(keysFile, records.filter((record) => record.name !== name));
    process.stderr.write(`Revoked key "${name}". A running service refuses it within a second.\n`);
    break;
  }
}
