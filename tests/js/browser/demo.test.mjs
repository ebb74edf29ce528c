// The demo pages in Chromium: every post the archive page lists opens its own article
// (its title as the archive shows it, the live badge under its byline), and any other id
// opens the page for a post without a demo article.
// Run by `cargo test -p presence-tests --test e2e -- demo`; by hand:
// PRESENCE_URL=http://127.0.0.1:3000 node tests/js/browser/demo.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, serverUrl, watchConsole } from './lib.mjs';

const base = serverUrl();
let browser;
let page;
let seen;

before(async () => {
  browser = await launch();
  page = await browser.newPage();
  seen = watchConsole(page, 'demo');
});
after(() => browser?.close());

/** The visible article: its title, and whether the live badge is inside it. */
const shown = () => page.$$eval('article', (articles) => articles
  .filter((a) => !a.hidden)
  .map((a) => ({
    title: a.querySelector('h1').textContent.trim(),
    badge: !!a.querySelector('[data-presence-viewers]'),
  })));

test('every archive link opens its own article', async () => {
  await page.goto(`${base}/archive`);
  const links = await page.$$eval('ol.posts h2 a', (as) => as.map((a) => ({ href: a.href, title: a.textContent.trim() })));
  assert.ok(links.length >= 6, `the archive lists ${links.length} posts`);
  assert.equal(new Set(links.map((l) => l.href)).size, links.length, 'two links to one post');
  for (const { href, title } of links) {
    await page.goto(href);
    assert.deepEqual(await shown(), [{ title, badge: true }], href);
    assert.equal(await page.title(), `${title} · The Slow Journal`);
  }
});

test('another id opens the page for a post without a demo article', async () => {
  await page.goto(`${base}/?post=demo-99`);
  assert.deepEqual(await shown(), [{ title: 'Post demo-99', badge: true }]);
});

test('no console errors', () => {
  assert.deepEqual(seen.js, []);
});
