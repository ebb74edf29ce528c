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

/** The admin's browser with one page, and two helpers bound to that page: `go(path)` opens
 * a path of the site and waits for `load` (an HTTP error throws), `notices()` reads the
 * admin notices shown: { success: [...], error: [...] }. */
export async function adminPage() {
  const { browser, context } = await open({ admin: true });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  const go = async (path) => {
    const response = await page.goto(`${site()}${path}`, { waitUntil: 'load' });
    if (!response || response.status() >= 400) throw new Error(`${path}: HTTP ${response?.status()}`);
  };
  const notices = () => page.evaluate(() => {
    const texts = (sel) => [...document.querySelectorAll(sel)].map((n) => n.textContent.trim().replace(/\s+/g, ' '));
    return { success: texts('.notice-success, .updated'), error: texts('.notice-error, .error') };
  });
  return { browser, context, page, go, notices };
}

/** A plugin's row on the Plugins screen the page shows, or null. */
export async function pluginRow(page, plugin) {
  const row = page.locator(`tr[data-slug="${plugin}"]`).first();
  return (await row.count()) ? row : null;
}

export async function isActive(row) {
  return (await row.getAttribute('class')).split(/\s+/).includes('active');
}

/** Follows `plugin`'s Activate or Deactivate link (`action`) on the Plugins screen at
 * `screen` (a site's or the network's) unless it already is so; throws unless it then is.
 * Returns whether it is active. `admin`: what adminPage() returned. */
export async function pluginLink({ page, go, notices }, screen, plugin, action) {
  await go(screen);
  const row = await pluginRow(page, plugin);
  if (!row) throw new Error(`plugin ${plugin} is not on ${screen}`);
  const want = action === 'activate';
  if ((await isActive(row)) !== want) {
    await Promise.all([page.waitForURL(/plugins\.php/), row.locator(`span.${action} a`).click()]);
    await page.waitForLoadState('load');
  }
  const now = await isActive(await pluginRow(page, plugin));
  if (now !== want) throw new Error(`${action} ${plugin} on ${screen}: still ${now ? 'active' : 'inactive'}; notices: ${JSON.stringify(await notices())}`);
  return now;
}

/** Runs the steps of WP_STEPS (a JSON array) in order, each with `actions[step.do]`, then
 * closes the browser and prints one JSON line: each step's result, in order. */
export async function runSteps(browser, actions) {
  const steps = JSON.parse(env('WP_STEPS'));
  const results = [];
  try {
    for (const step of steps) {
      const action = actions[step.do];
      if (!action) throw new Error(`unknown step ${step.do}`);
      results.push(await action(step));
    }
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(results));
}
