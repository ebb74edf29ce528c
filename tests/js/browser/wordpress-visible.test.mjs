// "Visible with no further step" (issue 16): after the setup alone (plugin active, server URL
// saved), a post page of the active theme shows the count under the title, in the content
// column. Two readers of the post see 2; when one leaves, the other sees 1. No JS errors.
// With HANDPLACED_URL (a post whose content holds a "Readers now" block after its first
// paragraph): that block is the one count on its page, not one under the title (review S4).
// Env (besides wordpress.mjs's): POST_URL, THEME (for the message), SHOT (a file name in
// tests/artifacts/), HANDPLACED_URL (optional).
import path from 'node:path';
import fs from 'node:fs';
import { open, env, ARTIFACTS } from './wordpress.mjs';
import { watchConsole } from './lib.mjs';

const post = env('POST_URL');
const theme = env('THEME');
const COUNT = '.presence-readers-now [data-presence-viewers]';
const { browser } = await open();
const failures = [];

async function reader(name) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const page = await context.newPage();
  const seen = watchConsole(page, name);
  await page.goto(post, { waitUntil: 'load' });
  return { context, page, seen };
}

const waitCount = (page, n) =>
  page.waitForSelector(`${COUNT}[data-presence-count="${n}"]`, { state: 'visible', timeout: 15000 });

try {
  const first = await reader('first');
  await waitCount(first.page, 1);
  const alone = await first.page.$eval(COUNT, (el) => el.textContent.trim());
  if (!alone) failures.push(`${theme}: the reader alone sees an empty count`);

  // Under the title and above the post's text, in the text's column (a classic theme's
  // title may be wider than the text).
  const geometry = await first.page.evaluate((selector) => {
    const count = document.querySelector(selector).closest('.presence-readers-now');
    const title = document.querySelector('.wp-block-post-title, .entry-title');
    const text = [...document.querySelectorAll('.wp-block-post-content p, .entry-content p')]
      .find((p) => !p.closest('.presence-readers-now'));
    const box = (el) => { const r = el.getBoundingClientRect(); return { left: r.left, top: r.top, bottom: r.bottom, height: r.height }; };
    return { count: box(count), title: box(title), text: box(text), blocks: document.querySelectorAll('.presence-readers-now').length };
  }, COUNT);
  console.log(`${theme}: ${JSON.stringify(geometry)}`);
  const { count, title, text } = geometry;
  if (geometry.blocks !== 1) failures.push(`${theme}: ${geometry.blocks} "Readers now" blocks on the post page, wanted 1`);
  if (!(count.top >= title.bottom - 1 && count.bottom <= text.top + 1)) failures.push(`${theme}: the count is not between the title and the text (title bottom ${title.bottom}, count ${count.top}-${count.bottom}, text top ${text.top})`);
  if (Math.abs(count.left - text.left) > 2) failures.push(`${theme}: the count is not in the text's column (text left ${text.left}, count left ${count.left})`);
  if (count.height <= 0 || count.height > 120) failures.push(`${theme}: the count's box is ${count.height}px high`);

  const second = await reader('second');
  await waitCount(second.page, 2);
  await waitCount(first.page, 2);
  const two = await first.page.$eval(COUNT, (el) => el.textContent.trim());
  console.log(`${theme}: alone "${alone}", two "${two}"`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await first.page.screenshot({ path: path.join(ARTIFACTS, env('SHOT')), clip: { x: 0, y: 0, width: 1000, height: 700 } });

  await second.context.close();
  await waitCount(first.page, 1);
  for (const r of [first, second]) failures.push(...r.seen.js);

  if (process.env.HANDPLACED_URL) {
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const page = await context.newPage();
    const seen = watchConsole(page, 'hand-placed');
    await page.goto(process.env.HANDPLACED_URL, { waitUntil: 'load' });
    await waitCount(page, 1);
    const placed = await page.evaluate(() => {
      const blocks = [...document.querySelectorAll('.presence-readers-now')];
      const first = document.querySelector('.wp-block-post-content p, .entry-content p');
      return {
        blocks: blocks.length,
        inContent: blocks.length === 1 && !!blocks[0].closest('.wp-block-post-content, .entry-content'),
        afterText: blocks.length === 1 && !!first && !!(first.compareDocumentPosition(blocks[0]) & Node.DOCUMENT_POSITION_FOLLOWING),
      };
    });
    console.log(`${theme}: hand-placed ${JSON.stringify(placed)}`);
    if (!(placed.blocks === 1 && placed.inContent && placed.afterText)) failures.push(`${theme}: the block placed in the content is not the one count on its page: ${JSON.stringify(placed)}`);
    failures.push(...seen.js);
    await context.close();
  }
} catch (e) {
  failures.push(`${theme}: ${e.message}`);
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log(`${theme}: count under the title; 1, 2, then 1 again`);
