import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { generateKey, hashKey, writeKeysFile } from '../../src/auth/keys-file.js';
import { startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

/**
 * The web viewer in a real browser (Debian's Chromium, driven by playwright-core) against the real
 * service with real events. SQLite only: what the page does is the same on either backend.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ZONE = 'Europe/Paris';
const LOCALE = 'en-GB';
const BULK_EVENTS = 10_000;

/**
 * Screenshots of the main screens go to docs/screenshots/ (committed, shown in the README) when
 * AUDITOR_UPDATE_SCREENSHOTS=1; otherwise to a scratch folder, so that a test run leaves the work
 * tree as it was. Taken either way: each is a render at that width that must not fail.
 */
const SCREENSHOTS = process.env.AUDITOR_UPDATE_SCREENSHOTS === '1'
  ? fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
  : mkdtempSync(join(tmpdir(), 'auditor-screenshots-'));

/**
 * Without Chromium the tests are skipped, saying how to get it. Under AUDITOR_REQUIRE_BROWSER=1,
 * as in CI, that fails instead: a browser test that silently does not run proves nothing.
 */
function browserMissing(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} is not installed: apt-get install chromium (Debian's package; never a downloaded browser)`;
  if (process.env.AUDITOR_REQUIRE_BROWSER === '1') throw new Error(`${reason}; AUDITOR_REQUIRE_BROWSER=1 requires the browser tests to run`);
  t.skip(reason);
  return true;
}

type Sent = { id: string; user_id: string; event_type: string; data: unknown; timestamp: string };

describe('the web viewer in Chromium', () => {
  let server: TestServer;
  let browser: Browser | undefined;
  let keysDir: string;
  const readKey = generateKey();
  const ingestKey = generateKey();
  /** The events posted one by one, oldest first, as GET /events/{id} answers them. */
  const sent: Sent[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) return;
    keysDir = mkdtempSync(join(tmpdir(), 'auditor-viewer-keys-'));
    const keysFile = join(keysDir, 'keys.json');
    const createdAt = new Date().toISOString();
    writeKeysFile(keysFile, [
      { name: 'analyst', scope: 'read', sha256: hashKey(readKey), createdAt },
      { name: 'billing', scope: 'ingest', sha256: hashKey(ingestKey), createdAt },
    ]);
    server = await startTestServer({ keysFile });
    // The bulk user first: the few events below are then the newest, the first page of every user.
    for (let first = 0; first < BULK_EVENTS; first += 1000) {
      const batch = Array.from({ length: 1000 }, (_, i) => ({ user_id: 'bulk', event_type: 'tick', data: { n: first + i } }));
      const stored = await fetch(`${server.url}/events/batch`, {
        method: 'POST', headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(batch),
      });
      assert.equal(stored.status, 201);
    }
    const events = [
      { user_id: 'alice', event_type: 'login', data: { ip: '10.0.0.7', address: { city: 'Paris' } } },
      { user_id: 'alice', event_type: 'invoice.update', data: { invoice_id: 42, address: { city: 'Paris' } } },
      { user_id: 'bob', event_type: 'login', data: { ip: '10.0.0.8', address: { city: 'Lyon' } } },
      { user_id: 'alice', event_type: 'logout', data: { address: { city: 'Paris' }, note: '<img src=x onerror=alert(1)>' } },
      { user_id: 'alice', event_type: 'login', data: { ip: '10.0.0.9', address: { city: 'Lyon' } } },
    ];
    for (const event of events) {
      const posted = await server.post(event);
      assert.equal(posted.status, 201);
      const { id } = (await posted.json()) as { id: string };
      sent.push((await (await fetch(`${server.url}/events/${id}`, { headers: { 'X-API-Key': readKey } })).json()) as Sent);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (keysDir !== undefined) rmSync(keysDir, { recursive: true, force: true });
    if (process.env.AUDITOR_UPDATE_SCREENSHOTS !== '1') rmSync(SCREENSHOTS, { recursive: true, force: true });
  });

  /**
   * A fresh context and page at `width`; whatever the console says as an error fails the test
   * (a refused script or style under the CSP says so there), except the network errors `expected`
   * names (Chromium logs a refused request, 401 or no answer, as a console error).
   */
  async function open(
    t: TestContext, width = 1280, expected: RegExp[] = [], url = server.url, options: { colorScheme?: 'light' | 'dark'; bypassCSP?: boolean } = {},
  ): Promise<Page> {
    const context: BrowserContext = await browser!.newContext({ viewport: { width, height: 900 }, timezoneId: ZONE, locale: LOCALE, acceptDownloads: true, ...options });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && !expected.some((pattern) => pattern.test(message.text()))) errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    t.after(async () => {
      await context.close();
      assert.deepEqual(errors, [], 'the console showed errors');
    });
    await page.goto(`${url}/`);
    return page;
  }

  async function signIn(page: Page, key = readKey): Promise<void> {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  /** The rows of the results table as [user, type, data] texts. */
  async function rows(page: Page): Promise<string[][]> {
    await page.getByRole('table').waitFor();
    const texts = await page.locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => Array.from((tr as unknown as { cells: ArrayLike<{ textContent: string | null }> }).cells, (cell) => cell.textContent ?? '')));
    return texts.map((cells) => cells.slice(1));
  }

  const compact = (event: Sent): string[] => [event.user_id, event.event_type, JSON.stringify(event.data)];

  async function shot(page: Page, name: string): Promise<void> {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
  }

  it('signs in with a read key, kept in sessionStorage only, and shows the newest events first', async (t) => {
    if (browserMissing(t)) return;
    const page = await open(t);
    await shot(page, 'sign-in-1280');
    await signIn(page);
    assert.deepEqual((await rows(page)).slice(0, 5), [...sent].reverse().map(compact));
    assert.equal(await page.evaluate('sessionStorage.getItem("auditor.apiKey")'), readKey);
    assert.equal(await page.evaluate('localStorage.length'), 0);
    assert.equal(await page.evaluate('document.cookie'), '');
    assert.ok(!page.url().includes(readKey));
    // The time in the viewer's zone, its UTC value in the title.
    const newest = sent.at(-1)!;
    const time = page.locator('tbody tr').first().locator('time');
    assert.equal(await time.getAttribute('title'), newest.timestamp);
    assert.equal(await time.textContent(), new Date(newest.timestamp).toLocaleString(LOCALE, { dateStyle: 'medium', timeStyle: 'medium', timeZone: ZONE }));
    assert.equal(await page.getByRole('checkbox', { name: 'Live' }).isDisabled(), true);
    await page.getByText('Live delivery is not available yet').waitFor();
    await shot(page, 'search-1280');
  });

  it('says a wrong key was refused, and keeps nothing', async (t) => {
    if (browserMissing(t)) return;
    const page = await open(t, 1280, [/status of 401/]);
    await page.getByLabel('API key').fill('adt_not-a-key-of-this-service');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'This key was refused: check that it was pasted whole, or ask for a new one.' }).waitFor();
    assert.equal(await page.evaluate('sessionStorage.length'), 0);
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
  });

  it('says a key that may not read cannot sign in', async (t) => {
    if (browserMissing(t)) return;
    const page = await open(t, 1280, [/status of 403/]);
    await page.getByLabel('API key').fill(ingestKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'This key may not read events: sign in with a read or admin key.' }).waitFor();
    assert.equal(await page.evaluate('sessionStorage.length'), 0);
  });

  it('searches by user, several types and a nested data field; the URL holds the search, not the key, and opens it again', async (t) => {
    if (browserMissing(t)) return;
    const page = await open(t);
    await signIn(page);
    await page.getByLabel('User').fill('alice');
    await page.getByLabel('Event type').fill('login, logout');
    await page.getByRole('button', { name: 'Add filter' }).click();
    await page.getByLabel('Field 1').fill('address.city');
    await page.getByLabel('Value 1').fill('Paris');
    await page.getByLabel('Order').selectOption('asc');
    await page.getByRole('button', { name: 'Last hour' }).click();
    assert.notEqual(await page.getByLabel('From').inputValue(), '');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/#\/\?user_id=alice/);
    const expected = [sent[0]!, sent[3]!].map(compact);
    await page.getByText('2 events shown').waitFor();
    assert.deepEqual(await rows(page), expected);
    const hash = new URL(page.url()).hash;
    assert.match(hash, /^#\/\?user_id=alice&event_type=login&event_type=logout&data\.address\.city=Paris&since=[^&]+&order=asc$/);
    assert.ok(!page.url().includes(readKey));
    // An event of it, then back to the same search.
    await page.locator(`a[href="#/events/${sent[3]!.id}"]`).click();
    await page.getByLabel('Data as JSON').waitFor();
    await page.getByRole('link', { name: 'Back to the search' }).click();
    await page.getByText('2 events shown').waitFor();
    assert.equal(new URL(page.url()).hash, hash);
    assert.deepEqual(await rows(page), expected);

    // The link, opened in another browser, asks for a key, then shows the same search.
    const other = await open(t, 1280, [], server.url);
    await other.goto(`${server.url}/${hash}`);
    await signIn(other);
    await other.getByText('2 events shown').waitFor();
    assert.deepEqual(await rows(other), expected);
    assert.equal(await other.getByLabel('User').inputValue(), 'alice');
    assert.equal(await other.getByLabel('Event type').inputValue(), 'login, logout');
    assert.equal(await other.getByLabel('Value 1').inputValue(), 'Paris');
  });

  it('pages through 10,000 events a hundred at a time with Load more', async (t) => {
    if (browserMissing(t)) return;
    const page = await open(t);
    await page.goto(`${server.url}/#/?user_id=bulk&order=asc`);
    await signIn(page);
    const loadMore = page.getByRole('button', { name: 'Load more' });
    // From the keyboard, as a user tabbing to the button would: a click's checks (two stable
    // frames, a hit test) cost each round a paint of the whole table, tripling the test's time.
    for (let shown = 100; shown < BULK_EVENTS; shown += 100) {
      await page.locator('caption').filter({ hasText: `${shown} events shown, more to load` }).waitFor();
      await loadMore.press('Enter');
    }
    await page.locator('caption').filter({ hasText: `${BULK_EVENTS} events shown` }).waitFor();
    await page.getByText('That is every matching event.').waitFor();
    assert.equal(await loadMore.count(), 0);
    const numbers = await page.locator('tbody tr td:nth-child(4)').allTextContents();
    assert.deepEqual(numbers, Array.from({ length: BULK_EVENTS }, (_, n) => JSON.stringify({ n })));
  });

  it('opens an event: every field, data as formatted JSON, copy buttons, and all events of its user', async (t) => {
    if (browserMissing(t)) return;
    const page = await open(t);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await signIn(page);
    const event = sent[3]!; // its data holds markup, which must show as text
    await page.locator(`a[href="#/events/${event.id}"]`).click();
    await page.getByRole('heading', { name: 'Event' }).waitFor();
    const json = page.getByLabel('Data as JSON');
    await json.waitFor();
    assert.equal(await json.textContent(), JSON.stringify(event.data, null, 2));
    const fields = await page.locator('dl.fields dd').allTextContents();
    assert.equal(fields[0], `${event.id} Copy ID`);
    assert.match(fields[1]!, new RegExp(`\\(${event.timestamp.replace(/\./g, '\\.')}\\)$`));
    assert.equal(fields[2], `${event.user_id} All events of this user`);
    assert.equal(fields[3], event.event_type);
    assert.equal(await page.locator('img').count(), 0);
    await page.getByRole('button', { name: 'Copy data' }).click();
    await page.getByText('Copied').waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), JSON.stringify(event.data, null, 2));
    await shot(page, 'event-1280');

    await page.getByRole('link', { name: 'All events of this user' }).click();
    await page.waitForURL(/#\/\?user_id=alice&order=desc$/);
    await page.getByText('4 events shown').waitFor();
    assert.deepEqual(await rows(page), sent.filter((e) => e.user_id === 'alice').reverse().map(compact));
  });

  it('verifies an event in the signed log in the browser, and names what breaks for one altered in the database', async (t) => {
    if (browserMissing(t)) return;
    const logKey = (await (await fetch(`${server.url}/checkpoint/key`, { headers: { 'X-API-Key': readKey } })).text()).trim();
    const genuine = (await (await server.post({ user_id: 'verify-me', event_type: 'checked', data: { amount: 1.50 } })).json()) as { id: string };
    const altered = (await (await server.post({ user_id: 'verify-me', event_type: 'checked', data: { amount: 2 } })).json()) as { id: string };
    const page = await open(t);
    await signIn(page);
    await page.goto(`${server.url}/#/events/${genuine.id}`);
    await page.getByRole('button', { name: 'Verify' }).click();
    const verdict = page.getByRole('status').filter({ hasText: /Verified|Not verified|could not/ });
    await verdict.waitFor();
    const text = (await verdict.textContent()) ?? '';
    assert.match(text, /^Verified: this event is entry \d+ of the log's signed tree of \d+ events\./, text);
    assert.ok(text.includes(`by the key ${logKey.split('+')[0]!} (ID ${logKey.split('+')[1]!})`), text);
    await shot(page, 'verified-1280');

    // What an insider with the database file could do once the tree was signed: the trigger that
    // refuses edits dropped, a row changed.
    await server.database.execute(`DROP TRIGGER events_are_never_updated; UPDATE events SET data = '{"amount":20}' WHERE id = '${altered.id}'`);

    await page.goto(`${server.url}/#/events/${altered.id}`);
    await page.getByLabel('Data as JSON').filter({ hasText: '20' }).waitFor();
    await page.getByRole('button', { name: 'Verify' }).click();
    const refused = page.getByRole('status').filter({ hasText: /Verified|Not verified|could not/ });
    await refused.waitFor();
    assert.match((await refused.textContent()) ?? '', /^Not verified: /);
  });

  it('shows an erased event as removed, on the record, in the results and on its page', async (t) => {
    if (browserMissing(t)) return;
    const posted = await server.post({ user_id: 'to-forget', event_type: 'viewer.erased', data: { secret: 'forget-me' } });
    const { id } = (await posted.json()) as { id: string };
    const erased = await fetch(`${server.url}/erasures`, {
      method: 'POST', headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' }, body: '{"user_id":"to-forget"}',
    });
    const { record } = (await erased.json()) as { record: string };
    const page = await open(t);
    await page.goto(`${server.url}/#/?event_type=viewer.erased`);
    await signIn(page);
    await page.getByText('1 event shown').waitFor();
    assert.match((await page.getByRole('table').textContent()) ?? '', /Removed by an erasure on /);
    await page.goto(`${server.url}/#/events/${id}`);
    const note = page.getByText(/Removed by an erasure on .*as recorded by the event/);
    await note.waitFor();
    assert.ok(((await note.textContent()) ?? '').includes(record));
    assert.equal(await page.getByText('forget-me').count(), 0);
    assert.equal(await page.getByLabel('Data as JSON').count(), 0);
    // Verify proves what is left, and says how little that is.
    await page.getByRole('button', { name: 'Verify' }).click();
    const verdict = page.getByRole('status').filter({ hasText: /Verified|Not verified|could not/ });
    await verdict.waitFor();
    assert.match((await verdict.textContent()) ?? '', /^Verified: .*It was erased with its user: only its leaf's place in the tree is proven/);
  });

  it('exports the search as CSV and as NDJSON, exactly as the API streams them', async (t) => {
    if (browserMissing(t)) return;
    const page = await open(t);
    await page.goto(`${server.url}/#/?user_id=alice&event_type=login&order=asc`);
    await signIn(page);
    await page.getByText('2 events shown').waitFor();
    for (const [button, accept, extension] of [['Export CSV', 'text/csv', 'csv'], ['Export NDJSON', 'application/x-ndjson', 'ndjson']] as const) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button }).click()]);
      assert.match(download.suggestedFilename(), new RegExp(`^auditor-events-[0-9T-]+Z\\.${extension}$`));
      const saved = readFileSync(await download.path(), 'utf8');
      const api = await fetch(`${server.url}/events?user_id=alice&event_type=login&order=asc&all=true`, { headers: { 'X-API-Key': readKey, Accept: accept } });
      assert.equal(api.status, 200);
      assert.equal(saved, await api.text());
      assert.equal(saved.split('\n').filter((line) => line.includes('alice')).length, 2);
    }
  });

  it('signs out: the key is forgotten, and a reload asks for one', async (t) => {
    if (browserMissing(t)) return;
    const page = await open(t);
    await signIn(page);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    assert.equal(await page.evaluate('sessionStorage.length'), 0);
    await page.reload();
    await page.getByLabel('API key').waitFor();
    assert.equal(await page.getByRole('table').count(), 0);
  });

  it('says when a search finds nothing, and what to do', async (t) => {
    if (browserMissing(t)) return;
    const page = await open(t);
    await signIn(page);
    await page.getByLabel('User').fill('nobody');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No events match this search. Widen the time range, or remove a filter, then search again.').waitFor();
    assert.equal(await page.getByRole('table').count(), 0);
    await shot(page, 'empty-1280');
  });

  it('says the service did not answer when it is down', async (t) => {
    if (browserMissing(t)) return;
    const doomed = await startTestServer();
    let closed = false;
    t.after(async () => {
      if (!closed) await doomed.close();
    });
    const page = await open(t, 1280, [/ERR_CONNECTION_REFUSED/], doomed.url);
    await signIn(page, TEST_API_KEY);
    await page.getByText('No events match this search').waitFor();
    await doomed.close();
    closed = true;
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('alert').filter({ hasText: 'The service did not answer. Check that it is running and that this page can reach it, then try again.' }).waitFor();
    await page.getByRole('button', { name: 'Try again' }).waitFor();
    await shot(page, 'down-1280');
  });

  it('fits a phone 390 px wide: only the table scrolls sideways, in its own region', async (t) => {
    if (browserMissing(t)) return;
    const page = await open(t, 390);
    await shot(page, 'sign-in-390');
    await signIn(page);
    await page.getByRole('table').waitFor();
    assert.ok(Number(await page.evaluate('document.documentElement.scrollWidth')) <= 390);
    await shot(page, 'search-390');
    await page.locator(`a[href="#/events/${sent[0]!.id}"]`).click();
    await page.getByLabel('Data as JSON').waitFor();
    assert.ok(Number(await page.evaluate('document.documentElement.scrollWidth')) <= 390);
    await shot(page, 'event-390');
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`has no serious or critical axe-core violation on its screens, ${colorScheme}`, async (t) => {
      if (browserMissing(t)) return;
      // axe is injected as an inline script, which the page's own policy refuses: only here is it bypassed.
      const page = await open(t, 1280, [], server.url, { colorScheme, bypassCSP: true });
      const audit = async (screen: string): Promise<void> => {
        if (await page.evaluate('typeof axe') === 'undefined') await page.addScriptTag({ content: AXE_SOURCE });
        const violations = await page.evaluate(`axe.run(document).then((result) => result.violations
          .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
          .map((violation) => violation.id + ': ' + violation.nodes.map((node) => node.target.join(' ')).join(', ')))`);
        assert.deepEqual(violations, [], screen);
      };
      await page.getByLabel('API key').waitFor();
      await audit('sign in');
      await signIn(page);
      await page.getByRole('button', { name: 'Add filter' }).click();
      await page.getByRole('table').waitFor();
      await audit('search and results');
      await page.locator(`a[href="#/events/${sent[0]!.id}"]`).click();
      await page.getByLabel('Data as JSON').waitFor();
      await audit('an event');
    });
  }
});

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
