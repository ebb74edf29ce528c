// "The block is in the inserter and renders in the editor" (issue 16, WordPress 6.5): in a
// new post's block editor, the inserter finds "Readers now" and "Popular now"; inserting
// "Readers now" renders the block in the editor's canvas. Writes SHOT in tests/artifacts/.
// Then a save with "Notify readers of this update" unticked ticks it again (review S10).
// Env (besides wordpress.mjs's): SHOT.
import path from 'node:path';
import fs from 'node:fs';
import { open, env, site, ARTIFACTS } from './wordpress.mjs';

const { browser } = await open();
const context = await browser.newContext({ storageState: env('WP_STATE'), viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
page.setDefaultTimeout(30000);
const failures = [];
try {
  await page.goto(`${site()}/wp-admin/post-new.php`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.wp && wp.data && wp.data.select('core/block-editor'));
  // No welcome guide: the preference a user sets by closing it once.
  await page.evaluate(() => {
    const prefs = wp.data.dispatch('core/preferences');
    if (prefs) prefs.set('core/edit-post', 'welcomeGuide', false);
  });
  const guide = page.locator('.edit-post-welcome-guide button[aria-label="Close"]');
  if (await guide.count()) await guide.first().click();

  for (const name of ['Readers now', 'Popular now']) {
    const known = await page.evaluate((title) => wp.blocks.getBlockTypes().some((b) => b.title === title), name);
    if (!known) failures.push(`the editor knows no block "${name}"`);
  }
  // The canvas is an iframe in block themes (and a part of the page otherwise).
  const canvas = (await page.locator('iframe[name="editor-canvas"]').count())
    ? page.frameLocator('iframe[name="editor-canvas"]')
    : page;
  await canvas.locator('.editor-post-title__input, .wp-block-post-title').first().fill('A post with the block');
  await page.locator('button[aria-label="Toggle block inserter"], button[aria-label="Block Inserter"]').first().click();
  await page.locator('.block-editor-inserter__search input, input[placeholder="Search"]').first().fill('Readers now');
  const item = page.locator('.block-editor-block-types-list__item', { hasText: 'Readers now' }).first();
  await item.waitFor({ state: 'visible' });
  await item.click();
  const block = canvas.locator('[data-type="presence/readers-now"]').first();
  await block.waitFor({ state: 'visible' });
  await canvas.locator('[data-type="presence/readers-now"] .presence-readers-now').first()
    .waitFor({ state: 'visible' });
  const text = (await block.textContent()).trim();
  console.log(`the editor renders "Readers now" as: ${text}`);
  if (!text) failures.push('the "Readers now" block renders empty in the editor');
  // The screenshot shows the inserter's search beside the inserted block.
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, env('SHOT')) });

  // "Notify readers of this update" is for one save (review S10): unticked for a save, it
  // is ticked again once the save (and its meta boxes) are done.
  await page.waitForSelector('#presence_notify', { state: 'attached' });
  await page.waitForSelector('script[src*="presence-notices.js"]', { state: 'attached' });
  await page.waitForTimeout(1000); // the script subscribes to the editor's store when it runs
  await page.evaluate(() => { document.getElementById('presence_notify').checked = false; });
  await page.evaluate(() => wp.data.dispatch('core/editor').savePost());
  const retick = await page.waitForFunction(() => {
    const saving = wp.data.select('core/editor').isSavingPost()
      || (wp.data.select('core/edit-post').isSavingMetaBoxes && wp.data.select('core/edit-post').isSavingMetaBoxes());
    return !saving && document.getElementById('presence_notify').checked;
  }, null, { timeout: 15000 }).then(() => true, () => false);
  console.log(`after a save with "Notify readers of this update" unticked, it is ${retick ? 'ticked again' : 'still unticked'}`);
  if (!retick) failures.push('"Notify readers of this update" stays unticked after a save in the block editor');
} catch (e) {
  failures.push(e.stack);
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
