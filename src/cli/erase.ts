/**
 * npm run erase -- (--user USER_ID | --data FIELD=VALUE) [--reason TEXT] [--url URL]
 *
 * Erases a data subject through the running service's POST /erasures, so that the erasure is
 * recorded, chained and signed like any other (this process never writes the database itself: the
 * service's writer and tree would not know of it). The admin key comes from AUDITOR_ERASE_API_KEY,
 * or else AUDITOR_API_KEY (environment or .env), never the command line, where other users of the
 * machine could read it.
 */
import { EXIT_USAGE, fail, readCommandLine } from './entry-point.js';

const EXIT_REFUSED = 1;

const { values } = readCommandLine({
  name: 'erase',
  usage: `usage: npm run erase -- --user USER_ID [--reason TEXT] [--url URL]
       npm run erase -- --data FIELD=VALUE [--reason TEXT] [--url URL]

Erases every event of one data subject, through the service's POST /erasures: their data and its
salt, and for a user the user_id too (replaced by a keyed pseudonym). The erasure is recorded in the
log as an auditor.erasure event. The admin key is read from AUDITOR_ERASE_API_KEY, or AUDITOR_API_KEY
(the environment or .env).
  --user USER_ID     the user to erase
  --data FIELD=VALUE whoever a field of data names, such as --data customer.email=ada@example.com
                     (the value as text: a number or true/false is matched as a data filter matches it)
  --reason TEXT      why, kept in the record (a request's reference, say)
  --url URL          the service (default: http://HOST:PORT from the environment, as the service reads them)
Exit status: 0 erased (or nothing to erase), printing the count; 1 refused (a legal hold, a bad
request, a wrong key); 2 could not ask (the service unreachable) or a bad command line.`,
  options: {
    user: { type: 'string' },
    data: { type: 'string' },
    reason: { type: 'string' },
    url: { type: 'string' },
  },
  failStatus: EXIT_USAGE,
});

if ((values.user === undefined) === (values.data === undefined)) fail('name the subject by exactly one of --user USER_ID or --data FIELD=VALUE', EXIT_USAGE);
let subject: Record<string, unknown>;
if (values.user !== undefined) {
  subject = { user_id: values.user };
} else {
  const at = values.data!.indexOf('=');
  if (at <= 0) fail(`--data: expected FIELD=VALUE, such as customer.email=ada@example.com, got "${values.data}"`, EXIT_USAGE);
  subject = { data: { [values.data!.slice(0, at)]: values.data!.slice(at + 1) } };
}
const key = process.env.AUDITOR_ERASE_API_KEY || process.env.AUDITOR_API_KEY;
if (key === undefined || key === '') fail('set AUDITOR_ERASE_API_KEY (or AUDITOR_API_KEY), in the environment or .env, to an admin key of the service', EXIT_USAGE);
const url = values.url ?? `http://${process.env.HOST || '127.0.0.1'}:${process.env.PORT || '8080'}`;
if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) fail(`--url: not an http:// or https:// URL: "${url}"`, EXIT_USAGE);

let response: Response;
try {
  response = await fetch(new URL('/erasures', url), {
    method: 'POST',
    headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...subject, ...(values.reason === undefined ? {} : { reason: values.reason }) }),
  });
} catch (error) {
  fail(`could not reach the service at ${url}: ${((error as Error).cause as Error | undefined)?.message ?? (error as Error).message}`, EXIT_USAGE);
}
const body = (await response.json().catch(() => ({}))) as { erased?: number; record?: string | null; message?: string };
if (response.status !== 200) fail(`refused (${response.status}): ${body.message ?? 'no reason given'}`, response.status >= 500 ? EXIT_USAGE : EXIT_REFUSED);
console.log(body.erased === 0 ? 'nothing to erase: no event of this subject holds a payload' : `erased ${body.erased} event${body.erased === 1 ? '' : 's'}; recorded as ${body.record}`);
