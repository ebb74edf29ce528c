// The editors' dashboard (/dashboard) in headless Chromium against a real presence-server
// with Redis and a dashboard token. `cargo test -p presence-tests --test e2e -- dashboard_browser`
// starts the binaries and runs this file (tests/tests/e2e/dashboard_browser.rs); by hand:
//
//   PRESENCE_URL=http://127.0.0.1:PORT PRESENCE_DASHBOARD_TOKEN=… node tests/js/browser/dashboard.test.mjs
//
// Readers are the official socket.io-client, as the 2015 client connects. The server must
// be otherwise unused (the test checks site-wide figures) and sample history every second
// (dashboard.history_step_secs = 1). Writes tests/artifacts/dashboard.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { launch, serverUrl, watchConsole } from './lib.mjs';

const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));
const url = serverUrl();
const TOKEN = process.env.PRESENCE_DASHBOARD_TOKEN;
if (!TOKEN) throw new Error('PRESENCE_DASHBOARD_TOKEN is not set (the server\'s dashboard.token)');
let browser;
const readers = [];

before(async () => {
  browser = await launch();
});
after(async () => {
  for (const socket of readers) socket.close();
  await browser?.close();
});

/** A reader of `post`, connected and answered. */
function read(post) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], reconnection: false });
    readers.push(socket);
    socket.on('connect', () => socket.emit('viewing', post));
    socket.on('viewers', (id) => id === String(post) && resolve(socket));
    socket.on('connect_error', reject);
  });
}

/** The dashboard's top table as [[post, readers], …], in page order. */
const table = (page) => page.$$eval('#top tr[data-post-id]', (rows) =>
  rows.map((r) => [r.getAttribute('data-post-id'), Number(r.cells[2].textContent.replace(/\D/g, ''))]));

const text = (page, selector) => page.$eval(selector, (el) => el.textContent);

test('without credentials the browser is asked for them', async () => {
  // (Headless Chromium cannot show the prompt; it fails the navigation instead. The
  // context's request API shows what the browser was sent.)
  const ctx = await browser.newContext();
  const response = await ctx.request.get(`${url}/dashboard`);
  assert.equal(response.status(), 401);
  assert.match(response.headers()['www-authenticate'], /^Basic /);
  await ctx.close();
});

test('the dashboard shows site-wide readers and top posts live, with an hour chart', async () => {
  // 3 readers on post 21, 2 on 22, 1 on 23.
  for (const post of [21, 21, 21, 22, 22, 23]) await read(post);

  const ctx = await browser.newContext({
    httpCredentials: { username: 'editor', password: TOKEN },
    viewport: { width: 960, height: 720 },
  });
  const page = await ctx.newPage();
  const seen = watchConsole(page, 'dashboard');
  const response = await page.goto(`${url}/dashboard`);
  assert.equal(response.status(), 200);

  await page.waitForFunction(() => document.getElementById('viewers').textContent === '6', null, { timeout: 10000 });
  assert.equal(await text(page, '#posts'), '3');
  assert.deepEqual(await table(page), [['21', 3], ['22', 2], ['23', 1]]);

  // Live: two more readers arrive on post 23 and the page follows without a reload.
  await read(23);
  await read(23);
  await page.waitForFunction(() => document.getElementById('viewers').textContent === '8', null, { timeout: 10000 });
  await page.waitForFunction(
    () => document.querySelector('#top tr[data-post-id]')?.getAttribute('data-post-id') === '23',
    null, { timeout: 10000 });
  assert.deepEqual(await table(page), [['23', 3], ['21', 3], ['22', 2]]);

  // The chart draws the history the servers keep in Redis (one sample a second here).
  await page.waitForFunction(() => Number(document.getElementById('chart').getAttribute('data-samples')) >= 3,
    null, { timeout: 15000 });
  assert.match(await page.getAttribute('#line', 'd'), /^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+)+$/);
  assert.match(await text(page, '#status'), /^Live/);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
  assert.deepEqual(seen.js, [], 'no JavaScript errors');
  await ctx.close();
});
