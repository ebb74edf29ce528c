// Chromium tests of badges of other posts (data-presence-viewers with data-post-id): an
// archive page with 20 badges watches all 20 posts over ONE websocket with ONE `watch`, the
// badges follow readers coming and going, and the archive page itself is counted nowhere.
// `cargo test -p presence-tests --test e2e -- embed` starts the real binary and runs this
// file (tests/tests/e2e/embed.rs); by hand:
//
//   PRESENCE_URL=http://127.0.0.1:PORT node tests/js/browser/watch.test.mjs
//
// Test pages are served from the server's origin (page.route), like a site's own pages
// loading presence.js; readers are the demo page (/?post=ID) in their own contexts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch, serverUrl, uniquePost, watchConsole, waitCount } from './lib.mjs';

const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));
const ARCHIVE = fileURLToPath(new URL('../../../embed/archive.html', import.meta.url));
const server = { url: serverUrl() };
let browser;
const consoles = [];

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A reader of `post`: the demo page in its own context, once it shows its count. */
async function reader(post) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  consoles.push(watchConsole(page, `reader of ${post}`));
  await page.goto(`${server.url}/?post=${post}`);
  await page.waitForSelector('[data-presence-viewers][data-presence-count]', { state: 'attached' });
  return { leave: () => ctx.close() };
}

/**
 * Opens `body` (HTML) at a fresh path of the server's origin in a new context. Records the
 * websockets the page opens and the Socket.IO events it sends on each.
 */
async function openPage(name, body, { routeSocket } = {}) {
  const ctx = await browser.newContext();
  const path = `/${name.replace(/\W+/g, '-')}-${uniquePost()}.html`;
  await ctx.route(server.url + path, (route) => route.fulfill({ contentType: 'text/html', body }));
  if (routeSocket) await ctx.routeWebSocket(/\/socket\.io\//, routeSocket);
  const page = await ctx.newPage();
  consoles.push(watchConsole(page, name));
  const sockets = [];
  page.on('websocket', (ws) => {
    const sent = [];
    sockets.push(sent);
    ws.on('framesent', ({ payload }) => {
      if (typeof payload === 'string' && payload.startsWith('42')) sent.push(JSON.parse(payload.slice(2)));
    });
  });
  await page.goto(server.url + path);
  return { page, sockets, close: () => ctx.close() };
}

const badge = (post, attrs = '') => `<li>post ${post}: <span data-presence-viewers data-post-id="${post}"${attrs}></span></li>`;

/** Waits until the badges of `post` show `n` (data-presence-count). */
function waitBadge(page, post, n, timeout = 5000) {
  return page.waitForFunction(([p, c]) => {
    const els = document.querySelectorAll(`[data-presence-viewers][data-post-id="${p}"]`);
    return els.length > 0 && [...els].every((el) => el.getAttribute('data-presence-count') === c);
  }, [post, String(n)], { timeout });
}

const badgeText = (page, post) => page.$eval(`[data-post-id="${post}"]`, (el) => el.textContent);

/** Readers now of `posts`, from GET /api/posts?ids=… : { id: viewers }. */
async function apiCounts(posts) {
  const res = await fetch(`${server.url}/api/posts?ids=${posts.join(',')}`);
  assert.equal(res.status, 200);
  const { posts: rows } = await res.json();
  return Object.fromEntries(rows.map((r) => [r.post_id, r.viewers]));
}

test('an archive page: 20 badges on one websocket follow readers coming and going', async () => {
  const posts = Array.from({ length: 20 }, uniquePost);
  const html = `<!doctype html><meta charset="utf-8"><title>archive</title><ul>
    ${badge(posts[0], ' data-presence-template="{n} here" data-presence-one="one here" data-presence-zero="nobody"')}
    ${posts.slice(1).map((p) => badge(p)).join('\n')}
    ${badge(posts[1])}
    <li>not a valid id: <span id="bad" data-presence-viewers data-post-id="no spaces"></span></li>
    </ul>
    <script async src="/presence.js"></script>`;
  const archive = await openPage('archive', html);
  const { page, sockets } = archive;

  // Everyone answered at once: 0 readers, the default zero text hides the badge.
  for (const p of posts) await waitBadge(page, p, 0);
  assert.equal(await badgeText(page, posts[0]), 'nobody');
  assert.equal(await badgeText(page, posts[5]), '\u00a0');
  assert.equal(await page.$eval('#bad', (el) => el.hasAttribute('data-presence-count')), false);

  const a1 = await reader(posts[0]);
  const a2 = await reader(posts[0]);
  const b = await reader(posts[3]);
  const c = await reader(posts[7]);
  await Promise.all([waitBadge(page, posts[0], 2), waitBadge(page, posts[3], 1), waitBadge(page, posts[7], 1)]);
  assert.equal(await badgeText(page, posts[0]), '2 here');
  assert.equal(await badgeText(page, posts[3]), '1 reading');
  assert.equal(await page.$eval(`[data-post-id="${posts[3]}"]`, (el) => el.getAttribute('aria-live')), 'polite');

  await a2.leave();
  await b.leave();
  await Promise.all([waitBadge(page, posts[0], 1), waitBadge(page, posts[3], 0)]);
  assert.equal(await badgeText(page, posts[0]), 'one here');
  assert.equal(await badgeText(page, posts[3]), '\u00a0');

  // The archive page reads none of the posts: the server counts only the readers.
  const expected = Object.fromEntries(posts.map((p) => [p, 0]));
  expected[posts[0]] = 1;
  expected[posts[7]] = 1;
  assert.deepEqual(await apiCounts(posts), expected);
  for (const p of posts) await waitBadge(page, p, expected[p]);

  // One websocket, one `watch` of the 20 distinct valid ids, no `viewing`.
  assert.equal(sockets.length, 1, `the archive page opened ${sockets.length} websockets`);
  const sent = sockets[0];
  assert.deepEqual(sent.map(([event]) => event), ['watch'], JSON.stringify(sent));
  assert.deepEqual([...sent[0][1]].sort(), [...posts].sort());
  assert.equal(await page.evaluate(() => window.presence.error), undefined);

  // A badge added later (infinite scroll) joins the same websocket's watch list.
  const late = uniquePost();
  const d = await reader(late);
  await page.evaluate((p) => {
    const li = document.createElement('li');
    li.innerHTML = `late: <span data-presence-viewers data-post-id="${p}"></span>`;
    document.querySelector('ul').append(li);
  }, late);
  await waitBadge(page, late, 1);
  assert.equal(sockets.length, 1);
  assert.deepEqual(sent.map(([event]) => event), ['watch', 'watch']);
  assert.equal(sent[1][1].length, 21);

  await Promise.all([a1.leave(), c.leave(), d.leave()]);
  await Promise.all([waitBadge(page, posts[0], 0), waitBadge(page, late, 0)]);
  await archive.close();
});

test('a post page counts its own post and watches the posts of its other badges', async () => {
  const own = uniquePost();
  const other = uniquePost();
  const html = `<!doctype html><meta charset="utf-8"><title>post</title>
    <p><span id="mine" data-presence-viewers></span> | <span id="mine-too" data-presence-viewers data-post-id="${own}"></span></p>
    <p>Related: <span id="related" data-presence-viewers data-post-id="${other}" data-presence-template="{n} there"></span></p>
    <script async src="/presence.js" data-post-id="${own}" data-presence-watch-one="one there"></script>`;
  const r = await reader(other);
  const a = await openPage('post a', html);
  const b = await openPage('post b', html);
  await Promise.all([waitCount(a.page, 2), waitBadge(a.page, other, 1)]);
  assert.equal(await a.page.$eval('#mine', (el) => el.textContent), '1 other person reading');
  assert.equal(await a.page.$eval('#mine-too', (el) => el.getAttribute('data-presence-count')), '2');
  // The script's data-presence-watch-one applies to watched badges, the element's template too.
  assert.equal(await a.page.$eval('#related', (el) => el.textContent), 'one there');
  assert.deepEqual(await apiCounts([own, other]), { [own]: 2, [other]: 1 });

  const r2 = await reader(other);
  await waitBadge(a.page, other, 2);
  assert.equal(await a.page.$eval('#related', (el) => el.textContent), '2 there');
  assert.deepEqual(a.sockets.length, 1);
  assert.deepEqual(a.sockets[0].map(([event, arg]) => [event, arg]), [['viewing', own], ['watch', [other]]]);
  await Promise.all([r.leave(), r2.leave(), a.close(), b.close()]);
});

test('after a reconnect the page watches again', async () => {
  const posts = [uniquePost(), uniquePost()];
  const html = `<!doctype html><meta charset="utf-8"><title>reconnect</title><ul>${posts.map((p) => badge(p)).join('')}</ul>
    <script async src="/presence.js"></script>`;
  // Every websocket goes through Playwright to the real server, so the test can cut it.
  const routed = [];
  let upstream;
  const archive = await openPage('reconnect', html, {
    routeSocket: (ws) => {
      const sent = [];
      routed.push(sent);
      const server = ws.connectToServer();
      upstream = server;
      ws.onMessage((m) => {
        if (typeof m === 'string' && m.startsWith('42')) sent.push(JSON.parse(m.slice(2)));
        server.send(m);
      });
    },
  });
  const { page } = archive;
  await waitBadge(page, posts[0], 0);
  await waitBadge(page, posts[1], 0);
  // Closing the server side closes the page's socket too (Playwright forwards it).
  upstream.close();
  for (const t0 = Date.now(); routed.length < 2; await new Promise((res) => setTimeout(res, 20))) {
    if (Date.now() - t0 > 10000) assert.fail('presence.js did not reconnect within 10 s');
  }
  // presence.js reconnects after its backoff (at most 1 s here) and watches again.
  const r = await reader(posts[1]);
  await waitBadge(page, posts[1], 1, 10000);
  assert.equal(routed.length, 2, `websockets opened: ${routed.length}`);
  assert.deepEqual(routed.map((sent) => sent.map(([event, ids]) => [event, [...ids].sort()])),
    [[['watch', [...posts].sort()]], [['watch', [...posts].sort()]]]);
  await Promise.all([r.leave(), archive.close()]);
});

test('more than 50 badges: the first 50 posts are watched, the rest stay empty', async () => {
  const posts = Array.from({ length: 55 }, uniquePost);
  const html = `<!doctype html><meta charset="utf-8"><title>many</title><ul>${posts.map((p) => badge(p)).join('')}</ul>
    <script async src="/presence.js"></script>`;
  const many = await openPage('many', html);
  for (const p of posts.slice(0, 50)) await waitBadge(many.page, p, 0);
  assert.equal(await many.page.evaluate(() => window.presence.error), undefined);
  const unfilled = await many.page.$$eval('[data-post-id]:not([data-presence-count])', (els) => els.map((el) => el.dataset.postId));
  assert.deepEqual(unfilled, posts.slice(50));
  await many.close();
});

test('a page without data-post-id and without badges opens no websocket', async () => {
  const quiet = await openPage('quiet', `<!doctype html><meta charset="utf-8"><title>quiet</title>
    <p>nothing to count</p><script src="/presence.js"></script>`);
  await quiet.page.waitForFunction(() => window.presence && window.presence.post === null);
  await quiet.page.evaluate(() => new Promise((r) => setTimeout(r, 500)));
  assert.equal(quiet.sockets.length, 0);
  await quiet.close();
});

test('screenshot of the archive demo (embed/archive.html) with readers on two posts', async () => {
  // Posts 1–6 are the demo's; no other test here uses them.
  const readers = [await reader('1'), await reader('1'), await reader('3')];
  const demo = await openPage('archive demo', readFileSync(ARCHIVE, 'utf8'));
  await Promise.all([waitBadge(demo.page, '1', 2), waitBadge(demo.page, '3', 1), waitBadge(demo.page, '2', 0)]);
  assert.equal(await badgeText(demo.page, '1'), '2 reading now');
  assert.equal(await badgeText(demo.page, '3'), '1 reading now');
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = `${ARTIFACTS}archive.png`;
  await demo.page.setViewportSize({ width: 900, height: 900 });
  await demo.page.screenshot({ path: file });
  console.log(`# screenshot: ${file}`);
  await Promise.all([...readers.map((r) => r.leave()), demo.close()]);
});

test('no console errors from the pages', () => {
  const js = consoles.flatMap((c) => c.js);
  const network = consoles.flatMap((c) => c.network);
  if (network.length) console.log(`# browser network errors (not from page JS): ${network.join(' | ')}`);
  assert.deepEqual(js, []);
});
