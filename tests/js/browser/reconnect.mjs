// Restart scenario for the embed: do pages recover the right count after the server restarts?
//
// Contract with the parent process (which owns the server and restarts it):
//
//   env PRESENCE_URL       base URL of the server, e.g. http://127.0.0.1:8080 (required)
//   env PRESENCE_POST      post id to use (optional; default: a unique positive integer)
//   env RECOVER_MS         how long recovery may take after "restarted" (default 15000)
//   env WAIT_RESTART_MS    how long to wait for "restarted" on stdin (default 120000)
//
//   1. Opens two Chromium pages (separate contexts) on PRESENCE_URL/?post=POST and waits
//      (up to 15 s) until both show data-presence-count="2".
//   2. stdout: {"event":"ready","post":"POST","count":2}
//      The parent now stops the server (any way: SIGKILL, SIGTERM) and starts it again on
//      the same address, then writes one line to stdin:  restarted
//      (Lines other than "restarted" are ignored. EOF before it is a failure.)
//   3. Within RECOVER_MS after that line, each page must have seen its old websocket close,
//      be on a newer websocket that received a `viewers` event for POST with count 2, and
//      show data-presence-count="2".
//   4. stdout, last line, then exit:
//        {"event":"recovered","post":"POST","count":2,"ms":<ms after "restarted">,
//         "network_errors":<n>}                                                   exit 0
//        {"event":"failed","post":"POST","reason":"<text>","js_errors":[...],
//         "network_errors":<n>}                                                   exit 1
//      Console errors of type "error" and uncaught exceptions from page JS fail the run.
//      Chromium's own messages for refused connections while the server is down
//      ("WebSocket connection to … failed") cannot be suppressed by JS and are only counted.
// Only these JSON lines go to stdout; human-readable progress goes to stderr.
import { createInterface } from 'node:readline';
import { launch, uniquePost, watchConsole, waitCount, shownCount } from './lib.mjs';

const base = (process.env.PRESENCE_URL ?? '').replace(/\/+$/, '');
const post = process.env.PRESENCE_POST || uniquePost();
const RECOVER_MS = Number(process.env.RECOVER_MS ?? 15000);
const WAIT_RESTART_MS = Number(process.env.WAIT_RESTART_MS ?? 120000);
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const log = (m) => process.stderr.write(`reconnect.mjs: ${m}\n`);

let browser;
const consoles = [];
const pages = [];

async function openReader(name) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  consoles.push(watchConsole(page, name));
  // Every websocket of the page, in order, with the viewers counts it received for our post.
  const sockets = [];
  page.on('websocket', (ws) => {
    const s = { closed: false, counts: [] };
    sockets.push(s);
    ws.on('close', () => { s.closed = true; });
    ws.on('socketerror', () => { s.closed = true; });
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string' || !payload.startsWith('42')) return;
      try {
        const [ev, id, n] = JSON.parse(payload.slice(payload.indexOf('[')));
        if (ev === 'viewers' && String(id) === post) s.counts.push(n);
      } catch { /* not ours */ }
    });
  });
  await page.goto(`${base}/?post=${encodeURIComponent(post)}`);
  const reader = { name, page, sockets, mark: 0 };
  pages.push(reader);
  return reader;
}

/** Recovered: the socket live at "ready" closed, a newer one got viewers=2, page shows 2. */
async function recovered(r) {
  const newer = r.sockets.slice(r.mark);
  const old = r.sockets[r.mark - 1];
  if (!old?.closed || !newer.length) return false;
  const cur = newer[newer.length - 1];
  if (cur.closed || cur.counts.at(-1) !== 2) return false;
  return (await shownCount(r.page)) === '2';
}

function waitLine(wanted, timeout) {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin });
    const timer = setTimeout(() => { rl.close(); reject(new Error(`no "${wanted}" on stdin within ${timeout} ms`)); }, timeout);
    rl.on('line', (line) => {
      if (line.trim() !== wanted) return;
      clearTimeout(timer);
      rl.removeAllListeners('close');
      rl.close();
      resolve();
    });
    rl.on('close', () => { clearTimeout(timer); reject(new Error(`stdin closed before "${wanted}"`)); });
  });
}

const jsErrors = () => consoles.flatMap((c) => c.js);
const networkErrors = () => consoles.reduce((n, c) => n + c.network.length, 0);

async function main() {
  if (!base) throw new Error('PRESENCE_URL is not set');
  browser = await launch();
  const a = await openReader('a');
  const b = await openReader('b');
  await Promise.all([waitCount(a.page, 2, 15000), waitCount(b.page, 2, 15000)]);
  for (const r of pages) r.mark = r.sockets.length;
  if (jsErrors().length) throw new Error('console errors before the restart');
  say({ event: 'ready', post, count: 2 });
  log('ready; waiting for "restarted" on stdin');

  await waitLine('restarted', WAIT_RESTART_MS);
  const t0 = Date.now();
  log('restarted; waiting for the pages to recover');
  for (;;) {
    const ok = await Promise.all(pages.map(recovered));
    if (ok.every(Boolean)) break;
    if (Date.now() - t0 > RECOVER_MS) {
      const state = await Promise.all(pages.map(async (r) => `${r.name}: shows ${await shownCount(r.page)}, `
        + `sockets since ready ${r.sockets.length - r.mark}, old closed ${r.sockets[r.mark - 1]?.closed}, `
        + `last counts ${JSON.stringify(r.sockets.at(-1)?.counts.slice(-3))}`));
      throw new Error(`not recovered within ${RECOVER_MS} ms (${state.join('; ')})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const ms = Date.now() - t0;
  const net = consoles.flatMap((c) => c.network);
  if (net.length) log(`${net.length} browser network errors (not page JS), first: ${net[0]}`);
  if (jsErrors().length) throw new Error('console errors from page JS');
  say({ event: 'recovered', post, count: 2, ms, network_errors: networkErrors() });
}

let code = 0;
try {
  await main();
} catch (e) {
  code = 1;
  log(e.message);
  say({ event: 'failed', post, reason: e.message, js_errors: jsErrors(), network_errors: networkErrors() });
}
await browser?.close().catch(() => {});
process.exit(code);
