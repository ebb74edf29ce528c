// Chromium tests of the embed (embed/presence.js on embed/demo.html) against a real
// presence-server. `cargo test -p presence-tests --test e2e -- embed` starts the binary and
// runs this file (tests/tests/e2e/embed.rs); by hand:
//
//   PRESENCE_URL=http://127.0.0.1:PORT node tests/js/browser/embed.test.mjs
//
// The server at PRESENCE_URL serves the demo page at / (with ?post=ID) and the embed at
// /presence.js, and speaks the presence protocol on /socket.io/. Counts are compared on the
// data-presence-count attribute the embed sets, never on wording.
// Writes tests/artifacts/demo.png. CHROMIUM_PATH overrides /usr/bin/chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch, serverUrl, uniquePost, watchConsole, waitCount, shownCount, VIEWERS } from './lib.mjs';

const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));
const EMBED = fileURLToPath(new URL('../../../embed/presence.js', import.meta.url));
const server = { url: serverUrl() };
let browser;
const consoles = [];

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A fresh page (own context: no shared state) on the demo page of `post`. */
async function open(post, name = `post ${post}`, path = `/?post=${post}`) {
  const ctx = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await ctx.newPage();
  consoles.push(watchConsole(page, name));
  await page.goto(server.url + path);
  return page;
}
const closePage = (page) => page.context().close();

test('two readers of one post see 2; when one leaves the other sees 1 within 2 s', async () => {
  const post = uniquePost();
  const a = await open(post, 'a');
  await waitCount(a, 1);
  const b = await open(post, 'b');
  await Promise.all([waitCount(a, 2), waitCount(b, 2)]);
  const el = await a.$(VIEWERS);
  assert.equal(await el.getAttribute('aria-live'), 'polite');
  assert.match(await el.textContent(), /2/);
  const t0 = Date.now();
  await closePage(b);
  await waitCount(a, 1, Math.max(1, 2000 - (Date.now() - t0)));
  console.log(`# count went 2 -> 1 in ${Date.now() - t0} ms after closing the other page`);
  await closePage(a);
});

/** The posts named in `viewers` events a page received over its websockets. */
function viewersPostsSeen(page) {
  const seen = new Set();
  page.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => {
    if (typeof payload !== 'string' || !payload.startsWith('42')) return;
    try {
      const [ev, id] = JSON.parse(payload.slice(payload.indexOf('[')));
      if (ev === 'viewers') seen.add(String(id));
    } catch { seen.add(`unparsable frame ${payload}`); }
  }));
  return seen;
}

test('readers of different posts do not see each other', async () => {
  const x = uniquePost();
  const y = uniquePost();
  const x1 = await open(x, 'x1');
  const x2 = await open(x, 'x2');
  // The server must not even send y's reader the counts of x (the embed would ignore them).
  const ctx = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const y1 = await ctx.newPage();
  consoles.push(watchConsole(y1, 'y1'));
  const ySaw = viewersPostsSeen(y1);
  await y1.goto(`${server.url}/?post=${y}`);
  await Promise.all([waitCount(x1, 2), waitCount(x2, 2), waitCount(y1, 1)]);
  // x changes while y watches: x3 arrives, x2 leaves. Any wrong push has a fan-out interval
  // (1 s by default) to arrive before the checks below.
  const x3 = await open(x, 'x3');
  await waitCount(x1, 3);
  await closePage(x2);
  await waitCount(x1, 2);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await shownCount(y1), '1');
  assert.deepEqual([...ySaw], [y], `y's reader got viewers events for ${[...ySaw]}`);
  await closePage(y1);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await shownCount(x1), '2');
  await Promise.all([closePage(x1), closePage(x3)]);
});

test('a plain static script tag with text attributes works (and ?ver= on the src)', async () => {
  const post = uniquePost();
  const path = `/static-tag-${post}.html`;
  const html = `<!doctype html><meta charset="utf-8"><title>static</title>
    <p><span id="v" data-presence-viewers>&nbsp;</span> | <b id="w" data-presence-views data-presence-template="{n} reads"></b></p>
    <script async src="/presence.js?ver=6.4" data-post-id="${post}"
      data-presence-template="{n} others here" data-presence-one="one other here"></script>`;
  const ctx = await browser.newContext();
  // Same origin as the server, so the page loads the script exactly like a published post.
  await ctx.route(server.url + path, (route) => route.fulfill({ contentType: 'text/html', body: html }));
  const pages = [];
  for (const n of [1, 2, 3]) {
    const p = await ctx.newPage();
    consoles.push(watchConsole(p, `static ${n}`));
    await p.goto(server.url + path);
    pages.push(p);
  }
  await waitCount(pages[0], 3);
  const [a] = pages;
  assert.equal(await a.$eval('#v', (el) => el.textContent), '2 others here');
  assert.equal(await a.$eval('#v', (el) => el.getAttribute('aria-live')), 'polite');
  // `views` comes in the frame after the answer's `viewers`: when the answer itself
  // said 3 (all three pages joined before the first was recorded, as happens on a
  // loaded machine), the count can be on the page a moment before the views.
  await a.waitForSelector('#w[data-presence-count]', { state: 'attached', timeout: 5000 });
  assert.match(await a.$eval('#w', (el) => el.textContent), /^\d[\d,.]* reads$/);
  await pages[2].close();
  await waitCount(a, 2);
  assert.equal(await a.$eval('#v', (el) => el.textContent), 'one other here');
  await pages[1].close();
  await waitCount(a, 1);
  // Only the reader: hidden, but the element keeps its line (a non-breaking space).
  assert.equal(await a.$eval('#v', (el) => el.textContent), '\u00a0');
  assert.deepEqual(await a.evaluate(() => Object.keys(window.presence).sort()),
    ['connected', 'post', 'viewers', 'views']);
  assert.equal(await a.evaluate(() => document.cookie + JSON.stringify([localStorage.length, sessionStorage.length])), '[0,0]');
  await ctx.close();
});

test('plural forms: data-presence-template-<category> of the page language wins (pl: 3 is "few")', async () => {
  const post = uniquePost();
  const path = `/plural-${post}.html`;
  const html = `<!doctype html><html lang="pl"><meta charset="utf-8"><title>plural</title>
    <span id="v" data-presence-viewers data-presence-template="{total} czyta"
      data-presence-template-few="{total} osoby czytają" data-presence-template-many="{total} osób czyta"></span>
    <span id="plain" data-presence-viewers data-presence-template="{total} readers"></span>
    <script async src="/presence.js" data-post-id="${post}"></script></html>`;
  const ctx = await browser.newContext();
  await ctx.route(server.url + path, (route) => route.fulfill({ contentType: 'text/html', body: html }));
  const pages = [];
  for (const n of [1, 2, 3]) {
    const p = await ctx.newPage();
    consoles.push(watchConsole(p, `plural ${n}`));
    await p.goto(server.url + path);
    pages.push(p);
  }
  await waitCount(pages[0], 3);
  assert.equal(await pages[0].$eval('#v', (el) => el.textContent), '3 osoby czytają');
  assert.equal(await pages[0].$eval('#plain', (el) => el.textContent), '3 readers');
  await ctx.close();
});

test('data-presence-idle: a tab hidden longer than that stops counting until visible', async () => {
  const post = uniquePost();
  const path = `/idle-${post}.html`;
  const html = `<!doctype html><meta charset="utf-8"><title>idle</title><span data-presence-viewers></span>
    <script async src="/presence.js" data-post-id="${post}" data-presence-idle="1"></script>`;
  const ctx = await browser.newContext();
  await ctx.route(server.url + path, (route) => route.fulfill({ contentType: 'text/html', body: html }));
  const [a, b] = [await ctx.newPage(), await ctx.newPage()];
  consoles.push(watchConsole(a, 'idle a'), watchConsole(b, 'idle b'));
  await a.goto(server.url + path);
  await b.goto(server.url + path);
  await waitCount(a, 2);
  // Headless tabs stay "visible"; simulate the tab being hidden and shown again.
  const setHidden = (hidden) => b.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
  await setHidden(true);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await shownCount(a), '2', 'still counted before the idle time is up');
  await waitCount(a, 1, 3000);
  assert.equal(await b.evaluate(() => window.presence.connected), false);
  await setHidden(false);
  await waitCount(a, 2, 5000);
  await waitCount(b, 2, 5000);
  await ctx.close();
});

test('screenshot of the demo page with two readers', async () => {
  // The demo as a newcomer sees it: / is post 1, which no other test here uses (the test
  // server is this file's own; by hand, close other demo tabs first).
  const a = await open('1', 'shot a', '/');
  const b = await open('1', 'shot b', '/');
  await Promise.all([waitCount(a, 2), waitCount(b, 2)]);
  // `views` comes once, when a reader starts viewing: the second reader's page shows 2.
  await b.waitForSelector('[data-presence-views][data-presence-count="2"]', { state: 'attached' });
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = `${ARTIFACTS}demo.png`;
  await b.screenshot({ path: file });
  console.log(`# screenshot: ${file}`);
  await Promise.all([closePage(a), closePage(b)]);
});

// Its size (and the README's statement of it) is checked by embed.rs on the file itself.
test('/presence.js is served as embed/presence.js, byte for byte', async () => {
  const res = await fetch(`${server.url}/presence.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /javascript/);
  const body = Buffer.from(await res.arrayBuffer());
  assert.ok(body.equals(readFileSync(EMBED)), `served ${body.length} bytes differ from ${EMBED}: stale binary?`);
});

test('no console errors from the pages', () => {
  const js = consoles.flatMap((c) => c.js);
  const network = consoles.flatMap((c) => c.network);
  if (network.length) console.log(`# browser network errors (not from page JS): ${network.join(' | ')}`);
  assert.deepEqual(js, []);
});
