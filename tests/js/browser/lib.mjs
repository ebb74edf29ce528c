// Shared helpers for the Chromium tests of the embed (embed.test.mjs, reconnect.mjs).
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // Local Network Access checks block even a same-host ws://127.0.0.1 socket from an
  // http://127.0.0.1 page in Chromium 156 (public sites are unaffected).
  '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests',
];

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** The server under test: PRESENCE_URL (the Rust e2e tests start the real binary and set it). */
export function serverUrl() {
  const url = process.env.PRESENCE_URL;
  if (!url) throw new Error('PRESENCE_URL is not set: run `cargo test -p presence-tests --test e2e -- embed`');
  return url.replace(/\/+$/, '');
}

/** A post id no other run uses: a positive integer (what WordPress uses), as a string. */
let seq = 0;
export function uniquePost() {
  return `${Date.now()}${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}${seq++}`;
}

// Messages Chromium itself logs for a failed network request (the page's JS cannot prevent
// them, e.g. a WebSocket refused while the server restarts). Everything else of type "error",
// and every uncaught exception, counts as an error of the page's JS.
const NETWORK = /^(WebSocket connection to '.*' failed|Failed to load resource)/;

/** Collects console errors of a page: { js: [...], network: [...] }. */
export function watchConsole(page, name = 'page') {
  const seen = { js: [], network: [] };
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    (NETWORK.test(m.text()) ? seen.network : seen.js).push(`${name}: console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.js.push(`${name}: uncaught: ${e.message}`));
  return seen;
}

export const VIEWERS = '[data-presence-viewers]';

/** The count shown by the page's viewers element (data-presence-count), or null. */
export function shownCount(page) {
  return page.$eval(VIEWERS, (el) => el.getAttribute('data-presence-count'));
}

/** Waits until the page's viewers element carries data-presence-count="n". */
export function waitCount(page, n, timeout = 5000) {
  return page.waitForSelector(`${VIEWERS}[data-presence-count="${n}"]`, { timeout, state: 'attached' });
}
