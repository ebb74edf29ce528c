// "A hung server" (issue 16): presence-server accepts connections and never answers. Against
// a run with no presence at all (the plugin deactivated), in interleaved rounds of each: the
// post page's `load`, a post save with notices on (the REST request the editor sends), the
// Posts list's and the Dashboard's `load`, and 6 visitors arriving together at the post (the
// slowest of them). Prints each figure's median per mode; fails when a page never fires
// `load`, or when a hung median (all but the 6 visitors' slowest `load`, printed only)
// stays more than MARGIN_MS over the baseline's (1.5 s for the 6 visitors' slowest
// first byte: see MARGINS).
// On a busy machine single loads vary by hundreds of ms, so when a median is over the bound
// after RUNS rounds, RUNS more rounds are measured, up to MAX_RUNS: noise evens out, a real
// cost (the issue measured 2 s per save, and pages that never fired `load`) stays.
// Env (besides wordpress.mjs's): HUNG_URL, NOTICES_TOKEN, POST_URL, POST_ID, RUNS (5),
// MAX_RUNS (15), MARGIN_MS (100).
import { open, env, site, restNonce, rest, loadTime, median } from './wordpress.mjs';

const RUNS = Number(process.env.RUNS || 5);
const MAX_RUNS = Number(process.env.MAX_RUNS || 15);
const MARGIN_MS = Number(process.env.MARGIN_MS || 100);
const LOAD_TIMEOUT = 20000;
const hung = env('HUNG_URL').replace(/\/+$/, '');
const postUrl = env('POST_URL');
const postId = Number(env('POST_ID'));
const failures = [];
let figures = { baseline: {}, hung: {} };
let hungRequests = 0;

const { browser, context: admin } = await open({ admin: true });
const adminPage = await admin.newPage();
adminPage.setDefaultTimeout(30000);

function record(mode, name, ms) {
  (figures[mode][name] ??= []).push(ms);
}

/** Navigates `page` and returns the `load` time in ms (LOAD_TIMEOUT if it never fires). */
async function load(page, url) {
  try {
    await page.goto(url, { waitUntil: 'load', timeout: LOAD_TIMEOUT });
    return await loadTime(page);
  } catch (e) {
    failures.push(`${url}: no load event within ${LOAD_TIMEOUT} ms (${e.message.split('\n')[0]})`);
    return LOAD_TIMEOUT;
  }
}

async function visitor() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('request', (r) => { if (r.url().startsWith(hung)) hungRequests++; });
  return { context, page };
}

async function plugin(action) {
  await adminPage.goto(`${site()}/wp-admin/plugins.php`, { waitUntil: 'load' });
  const row = adminPage.locator('tr[data-slug="presence"]');
  const active = (await row.getAttribute('class')).split(/\s+/).includes('active');
  if (active !== (action === 'activate')) {
    await Promise.all([adminPage.waitForURL(/plugins\.php/), row.locator(`span.${action} a`).click()]);
    await adminPage.waitForLoadState('load');
  }
}

async function measure(mode, round) {
  await plugin(mode === 'hung' ? 'activate' : 'deactivate');
  const one = await visitor();
  record(mode, 'post page load', await load(one.page, postUrl));
  if (mode === 'hung') {
    // The loader adds presence.js after load: wait (a bounded time) to see it ask the hung server.
    for (let i = 0; i < 60 && hungRequests === 0; i++) await new Promise((r) => setTimeout(r, 50));
  }
  await one.context.close();

  await adminPage.goto(`${site()}/wp-admin/edit.php`, { waitUntil: 'load' });
  const nonce = await restNonce(adminPage);
  const saved = await rest(adminPage, nonce, 'POST', `/wp/v2/posts/${postId}`, {
    content: `<!-- wp:paragraph -->\n<p>Updated in round ${round} (${mode}).</p>\n<!-- /wp:paragraph -->`,
  });
  if (saved.status !== 200) failures.push(`${mode} save: HTTP ${saved.status}`);
  record(mode, 'post save (REST, notices on)', saved.ms);

  record(mode, 'Posts list load', await load(adminPage, `${site()}/wp-admin/edit.php`));
  record(mode, 'Dashboard load', await load(adminPage, `${site()}/wp-admin/index.php`));

  // Whether any of them waits for WordPress: the slowest first byte is compared; the
  // slowest `load` is printed (6 pages rendering at once on a small machine vary by
  // seconds, whatever the server does).
  const six = await Promise.all(Array.from({ length: 6 }, visitor));
  const times = await Promise.all(six.map(({ page }) => load(page, postUrl)));
  const bytes = await Promise.all(six.map(({ page }) => page.evaluate(
    () => performance.getEntriesByType('navigation')[0]?.responseStart ?? null,
  ).catch(() => LOAD_TIMEOUT)));
  record(mode, '6 visitors together: slowest 1st byte', Math.max(...bytes));
  record(mode, '6 visitors together: slowest load', Math.max(...times));
  await Promise.all(six.map(({ context }) => context.close()));
}

/** The figures whose hung median is more than their margin over the baseline's. */
const PRINTED_ONLY = ['6 visitors together: slowest load'];
// Six pages rendered at once by php -S's 4 workers on two cores: their slowest first byte
// varies by seconds between rounds whatever presence does (BENCHMARKS.md; up to +800 ms
// between the modes' medians seen on a loaded machine), so 100 ms would measure noise.
// What it must catch costs more than 2 s: if each render waited on a PHP request to a
// hung presence-server (WordPress raises every timeout under 1 s to 1 s), the 5th and 6th
// visitors would wait 1 s for a worker and 1 s for their own request.
const MARGINS = { '6 visitors together: slowest 1st byte': Math.max(MARGIN_MS, 1500) };
const margin = (name) => MARGINS[name] ?? MARGIN_MS;
function over() {
  return Object.keys(figures.baseline)
    .filter((name) => !PRINTED_ONLY.includes(name))
    .filter((name) => !(median(figures.hung[name] ?? []) - median(figures.baseline[name]) <= margin(name)));
}

try {
  // The settings for the hung rounds: the hung server, notices on.
  await plugin('activate');
  await adminPage.goto(`${site()}/wp-admin/options-general.php?page=presence`, { waitUntil: 'load' });
  await adminPage.fill('form [name="presence_server_url"]', hung);
  await adminPage.fill('form [name="presence_notices_token[value]"]', env('NOTICES_TOKEN'));
  await Promise.all([adminPage.waitForURL(/settings-updated/), adminPage.click('form #submit')]);
  // One round of each unmeasured: PHP's opcache and the browser's cache warm up.
  await measure('baseline', 0);
  await measure('hung', 0);
  figures = { baseline: {}, hung: {} };
  for (let round = 1; round <= MAX_RUNS; round++) {
    // Alternating which mode goes first, so drift on the machine hits both alike.
    const order = round % 2 ? ['baseline', 'hung'] : ['hung', 'baseline'];
    for (const mode of order) await measure(mode, round);
    if (round % RUNS === 0 && over().length === 0) break;
  }
} catch (e) {
  failures.push(e.stack);
} finally {
  await browser.close();
}

const runs = figures.baseline['post page load']?.length ?? 0;
console.log(`medians of ${runs} rounds, ms (no presence → presence-server hung):`);
for (const name of Object.keys(figures.baseline)) {
  const [b, h] = [median(figures.baseline[name]), median(figures.hung[name] ?? [])];
  const runsOf = (mode) => (figures[mode][name] ?? []).map(Math.round).join(' ');
  console.log(`  ${name.padEnd(36)} ${b.toFixed(0).padStart(6)} → ${h.toFixed(0).padStart(6)}  (${h >= b ? '+' : ''}${(h - b).toFixed(0)}; rounds: ${runsOf('baseline')} | ${runsOf('hung')})`);
}
for (const name of over()) failures.push(`${name}: median ${median(figures.hung[name] ?? []).toFixed(0)} ms with a hung server, ${median(figures.baseline[name]).toFixed(0)} ms without presence: more than ${margin(name)} ms slower`);
console.log(`requests to the hung server from visitors' pages: ${hungRequests}`);
if (hungRequests === 0) failures.push('no page asked the hung server for anything: the hung rounds measured nothing');
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
