/** Part of `npm run build`: openapi.yaml (the contract, edited by hand) → dist/openapi.json (served). */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = new URL('../../', import.meta.url);
const document: unknown = parse(readFileSync(new URL('openapi.yaml', root), 'utf8'));
writeFileSync(fileURLToPath(new URL('dist/openapi.json', root)), JSON.stringify(document));
