// Chromium tests of live notices (embed/presence.js on embed/demo.html) against a real
// presence-server with a notices token. `cargo test -p presence-tests --test e2e -- notices_browser`
// starts the binary and runs this file (tests/tests/e2e/notices_browser.rs); by hand:
//
//   PRESENCE_URL=http://127.0.0.1:PORT PRESENCE_NOTICE_TOKEN=… node tests/js/browser/notices.test.mjs
//
// Notices are sent as a site would, with POST /api/posts/{id}/notices and POST /api/notices
// (docs/notices.md). Every test uses its own posts, and the file sends one site-wide notice,
// within the default rate limits (6 a minute per post, 2 site-wide).
// Writes tests/artifacts/notice.png. CHROMIUM_PATH overrides /usr/bin/chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch, serverUrl, uniquePost, watchConsole, waitCount } from './lib.mjs';

const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));
const server = { url: serverUrl() };
const TOKEN = process.env.PRESENCE_NOTICE_TOKEN;
if (!TOKEN) throw new Error('PRESENCE_NOTICE_TOKEN is not set (the server\'s notices.token)');
const BAR = '[role="status"]';
const UPDATED = 'This post was updated.';
let browser;
const consoles = [];

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/**
 * A fresh page (own context) on the demo page of `post`; `page.notices` collects the
 * `notice` events its websockets received, as parsed objects.
 */
async function open(post, name = `post ${post}`) {
  const ctx = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await ctx.newPage();
  consoles.push(watchConsole(page, name));
  page.notices = noticesReceived(page);
  await page.goto(`${server.url}/?post=${post}`);
  return page;
}
const closePage = (page) => page.context().close();

function noticesReceived(page) {
  const seen = [];
  page.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => {
    if (typeof payload !== 'string' || !payload.startsWith('42')) return;
    try {
      const [ev, notice] = JSON.parse(payload.slice(payload.indexOf('[')));
      if (ev === 'notice') seen.push(notice);
    } catch { seen.push(`unparsable frame ${payload}`); }
  }));
  return seen;
}

/** POSTs a notice as a site does; asserts 202 and returns the notice id. */
async function send(path, body) {
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 202, `POST ${path} ${JSON.stringify(body)} answered ${res.status}: ${text}`);
  const { id } = JSON.parse(text);
  assert.equal(typeof id, 'string', `POST ${path}: no id in ${text}`);
  return id;
}
const toPost = (post, body) => send(`/api/posts/${post}/notices`, body);

/** The bar's text, '' when dismissed, null when the page never showed a notice. */
const barText = (page) => page.evaluate((sel) => document.querySelector(sel)?.textContent ?? null, BAR);
/** Waits until the bar shows text containing `text`. */
function waitBar(page, text, timeout = 5000) {
  return page.waitForFunction(([sel, t]) => document.querySelector(sel)?.textContent.includes(t),
    [BAR, text], { timeout });
}
/** The links in the bar: [[text, href], …]. */
const barLinks = (page) => page.$$eval(`${BAR} a`, (as) => as.map((a) => [a.textContent, a.href]));
/** Where the article heading is and how tall the page is: the bar must not move either. */
const layout = (page) => page.evaluate(() =>
  [document.querySelector('h1').getBoundingClientRect().top, document.documentElement.scrollHeight]);

test('a post notice reaches its readers only; a site-wide one reaches all; Dismiss hides it', async () => {
  const post = uniquePost();
  const other = uniquePost();
  const a = await open(post, 'a');
  const b = await open(other, 'b');
  await Promise.all([waitCount(a, 1), waitCount(b, 1)]);
  const before = await layout(a);

  // A text notice for the post, with markup that must show as text.
  const text = `Live: the vote has <b>started</b> ${post}`;
  const url = 'https://example.com/live?x=1';
  const id = await toPost(post, { kind: 'text', text, url });
  await waitBar(a, text);
  assert.equal(await a.$eval(BAR, (el) => el.getAttribute('aria-live')), 'polite');
  assert.equal(await a.$$eval(`${BAR} b`, (els) => els.length), 0, 'the text was parsed as HTML');
  assert.deepEqual(await barLinks(a), [['More', url]]);
  assert.equal(await a.getByRole('button', { name: 'Dismiss' }).count(), 1);
  assert.deepEqual(await layout(a), before, 'the bar moved the page content');
  assert.deepEqual(a.notices, [{ id, kind: 'text', text, url, post_id: post }]);

  // The reader of another post gets nothing, not even the event.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await barText(b), null);
  assert.deepEqual(b.notices, []);

  // Site-wide "updated": both readers, a Reload link to the page itself; it replaces the
  // text notice (one bar at a time).
  const siteId = await send('/api/notices', { kind: 'updated' });
  await Promise.all([waitBar(a, UPDATED), waitBar(b, UPDATED)]);
  for (const [page, name] of [[a, 'a'], [b, 'b']]) {
    assert.equal(await page.locator(BAR).count(), 1, `${name}: more than one bar`);
    assert.doesNotMatch(await barText(page), /vote/, `${name}: the old notice is still shown`);
    assert.deepEqual(await barLinks(page), [['Reload', page.url()]], name);
    assert.equal(page.notices.filter((n) => n.id === siteId).length, 1, `${name}: ${JSON.stringify(page.notices)}`);
  }
  assert.deepEqual(b.notices, [{ id: siteId, kind: 'updated', text: null, url: null, post_id: null }]);
  assert.deepEqual(await layout(a), before, 'the bar moved the page content');

  mkdirSync(ARTIFACTS, { recursive: true });
  const file = `${ARTIFACTS}notice.png`;
  await a.screenshot({ path: file });
  console.log(`# screenshot: ${file}`);

  // Dismiss: gone from this page (nothing visible left), still on the other.
  await a.getByRole('button', { name: 'Dismiss' }).click();
  await a.waitForSelector(BAR, { state: 'hidden', timeout: 2000 });
  assert.equal(await barText(a), '');
  assert.equal(await a.getByRole('button', { name: 'Dismiss' }).count(), 0);
  assert.match(await barText(b), /updated/);
  await Promise.all([closePage(a), closePage(b)]);
});

test('a notice id that arrives again is not shown again', async () => {
  // The page's websocket goes through Playwright, which passes every frame on and can
  // replay one: what a reconnect may do.
  const post = uniquePost();
  const ctx = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await ctx.newPage();
  consoles.push(watchConsole(page, 'replay'));
  let toPage;
  const frames = [];
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    const upstream = ws.connectToServer();
    upstream.onMessage((m) => {
      ws.send(m);
      if (typeof m === 'string' && m.startsWith('42["notice"')) frames.push(m);
    });
    toPage = ws;
  });
  await page.goto(`${server.url}/?post=${post}`);
  await waitCount(page, 1);
  const text = `Read this once ${post}`;
  const id = await toPost(post, { kind: 'text', text });
  await waitBar(page, text);
  await page.getByRole('button', { name: 'Dismiss' }).click();
  assert.equal(frames.length, 1, `notice frames: ${frames}`);
  toPage.send(frames[0]);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await barText(page), '', 'the repeated notice was shown again');
  // The same frame with another id is a new notice: the replay itself works.
  const fresh = frames[0].replace(id, `${id}-new`);
  assert.notEqual(fresh, frames[0]);
  toPage.send(fresh);
  await waitBar(page, text, 2000);
  await ctx.close();
});

test('data-presence-notices="off" shows no notices (and still counts)', async () => {
  const post = uniquePost();
  const path = `/notices-off-${post}.html`;
  const html = `<!doctype html><meta charset="utf-8"><title>off</title><span data-presence-viewers></span>
    <script async src="/presence.js" data-post-id="${post}" data-presence-notices="off"></script>`;
  const ctx = await browser.newContext();
  // Same origin as the server, so the page loads the script exactly like a published post.
  await ctx.route(server.url + path, (route) => route.fulfill({ contentType: 'text/html', body: html }));
  const quiet = await ctx.newPage();
  consoles.push(watchConsole(quiet, 'off'));
  quiet.notices = noticesReceived(quiet);
  await quiet.goto(server.url + path);
  const shown = await open(post, 'on');
  await Promise.all([waitCount(quiet, 2), waitCount(shown, 2)]);
  const text = `Not for opted-out pages ${post}`;
  const id = await toPost(post, { kind: 'text', text });
  await waitBar(shown, text);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(quiet.notices.map((n) => n.id), [id], 'the opted-out page should still get the event');
  assert.equal(await barText(quiet), null);
  await Promise.all([ctx.close(), closePage(shown)]);
});

test('no console errors from the pages', () => {
  const js = consoles.flatMap((c) => c.js);
  const network = consoles.flatMap((c) => c.network);
  if (network.length) console.log(`# browser network errors (not from page JS): ${network.join(' | ')}`);
  assert.deepEqual(js, []);
});
