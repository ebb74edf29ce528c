// Shared helpers for the real-WordPress tests (tests/tests/e2e/wordpress_site.rs starts the
// site, presence-server and, for some tests, a hung server; these scripts drive Chromium).
// Environment: WP_URL (the site), WP_STATE (the admin's cookies, a playwright storage-state
// file), WP_USER, WP_PASSWORD, WP_VERSION (wp61 or wp65).
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch } from './lib.mjs';

export const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));

export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run \`cargo test -p presence-tests --test e2e wordpress_site\``);
  return value;
}

export const site = () => env('WP_URL').replace(/\/+$/, '');

/** A browser and a context: the admin's (with WP_STATE's cookies) or a reader's (none). */
export async function open({ admin = false } = {}) {
  const browser = await launch();
  const state = process.env.WP_STATE;
  const context = await browser.newContext(
    admin && state && fs.existsSync(state) ? { storageState: state } : {},
  );
  return { browser, context };
}

/** The REST API nonce of the logged-in admin (what the editor sends as X-WP-Nonce). */
export async function restNonce(page) {
  return page.evaluate(async (url) => {
    const r = await fetch(`${url}/wp-admin/admin-ajax.php?action=rest-nonce`, { credentials: 'same-origin' });
    return r.text();
  }, site());
}

/** A REST request from the admin's page, as the editor sends it; returns { status, body, ms }. */
export async function rest(page, nonce, method, route, body) {
  return page.evaluate(async ({ url, nonce, method, route, body }) => {
    const started = performance.now();
    const r = await fetch(`${url}/?rest_route=${encodeURIComponent(route)}`, {
      method,
      credentials: 'same-origin',
      headers: { 'X-WP-Nonce': nonce, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    const ms = performance.now() - started;
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, body: json ?? text, ms };
  }, { url: site(), nonce, method, route, body });
}

/** Milliseconds from navigation start to the `load` event of the page's current document. */
export function loadTime(page) {
  return page.evaluate(() => {
    const [nav] = performance.getEntriesByType('navigation');
    return nav ? nav.loadEventStart : null;
  });
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
