/**
 * npm run bench:viewer: how long the web viewer takes, in a real browser (Debian's Chromium), from
 * a search to its first page of results on screen, on the bench's preloaded log (1,000,000 events
 * by default). The clock is the page's own (the Performance API): from the moment the search is
 * set in the location, as the Search button does, to the moment the table holds its rows.
 * Reported, never asserted: a shared machine makes a threshold a coin toss.
 * Options: --events 1000000 --rounds 5
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { EVENT_TYPES, HOT_USER, typicalUser } from './fixtures.js';
import { preloadSqlite } from './preload.js';
import { fixed, median, printTable } from './report.js';
import { startServer } from './server-process.js';

const { values: options } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' } } });
const preloadEvents = Number(options.events);
const rounds = Number(options.rounds);
const API_KEY = 'bench-key-0123456789abcdef';
const CHAIN_SECRET = 'bench-chain-secret-0123456789abcdef';
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../src/main.js');

/** Searches as an analyst would type them, by their hash (the API's own parameter names). */
const SEARCHES: Record<string, string> = {
  'everything, newest first': 'order=desc',
  [`the hot user (${preloadEvents / 5} events)`]: `user_id=${HOT_USER}&order=desc`,
  'one event type across users': `event_type=${EVENT_TYPES[0]}&order=desc`,
  'a typical user, oldest first': `user_id=${typicalUser(7)}&order=asc`,
};

/**
 * Runs in the page (as text: this project's TypeScript has no DOM types): sets the search in the
 * location as the Search button does, and resolves, on the page's clock, once the table holds its
 * rows and its caption says so, and a frame has been painted after.
 */
const SEARCH_TO_ROWS = `async (hash) => {
  const start = performance.now();
  const rowsShown = new Promise((resolve) => {
    const check = () => {
      const rows = document.querySelectorAll('tbody tr').length;
      const caption = document.querySelector('caption')?.textContent ?? '';
      if (rows === 0 || !/events? shown/.test(caption)) return false;
      resolve(rows);
      return true;
    };
    const observer = new MutationObserver(() => check() && observer.disconnect());
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  location.hash = '#/?' + hash;
  const rows = await rowsShown;
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  return { rows, ms: performance.now() - start };
}`;

const dir = mkdtempSync(join(tmpdir(), 'auditor-viewer-bench-'));
try {
  const dbPath = join(dir, 'bench.db');
  const started = performance.now();
  preloadSqlite(dbPath, preloadEvents, CHAIN_SECRET);
  console.log(`Preloaded ${preloadEvents} events in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  const server = await startServer(MAIN, { AUDITOR_API_KEY: API_KEY, AUDITOR_DB: dbPath, AUDITOR_CHAIN_SECRET: CHAIN_SECRET }, { taskset: false, cpu: 0 });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/`);
    await page.getByLabel('API key').fill(API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const timings: Record<string, number[]> = {};
    for (let round = 0; round < rounds; round++) {
      for (const [name, query] of Object.entries(SEARCHES)) {
        await page.goto(`${server.url}/#/events/none`); // away from any table, so the next one is built anew
        await page.getByRole('heading', { name: 'Event' }).waitFor();
        const result = (await page.evaluate(`(${SEARCH_TO_ROWS})(${JSON.stringify(query)})`)) as { rows: number; ms: number };
        (timings[name] ??= []).push(result.ms);
        console.log(`round ${round + 1} ${name.padEnd(36)} ${result.rows} rows  ${fixed(result.ms, 1)} ms`);
      }
    }
    printTable(`The viewer: a search to its first page on screen, Chromium, ${preloadEvents} events, median of ${rounds} rounds`,
      ['search', 'ms (median)', 'ms (each round)'],
      Object.entries(timings).map(([name, ms]) => [name, fixed(median(ms), 1), ms.map((m) => fixed(m, 0)).join(' ')]));
  } finally {
    await browser.close();
    await server.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
