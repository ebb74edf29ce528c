// What a WordPress.org reviewer and a site owner do with the plugin (issues 18 and 20), in
// headless Chromium, for tests/tests/e2e/wordpress_org.rs. Runs the steps of WP_STEPS (a
// JSON array, in order) and prints one JSON line: each step's result. Steps:
//   {do:"settings", fields:{name: value}}   Settings → Presence, the form submitted as a
//                                           crafted request would be (the browser's own
//                                           checks, e.g. min="0", switched off); returns
//                                           the notices shown and the fields' values after
//   {do:"upload", zip:"/path.zip"}          Plugins → Add New → Upload Plugin, then Activate
//   {do:"network-activate"|"network-deactivate"}  Network Admin → Plugins
//   {do:"delete", network:bool}             (Network Admin →) Plugins → Delete, confirmed
//   {do:"privacy"}                          the privacy policy guide's text of the plugin
//   {do:"reader", url, server, token, post} a reader's page in the site's language: the
//                                           count alone and with a second reader, then the
//                                           notice bar of an "updated" notice and of a
//                                           "text" notice with a link (sent to the server
//                                           with its notices token)
// Environment: as tests/js/browser/wordpress.mjs (WP_URL, WP_STATE, ...).
import { adminPage, pluginRow, isActive, pluginLink, runSteps } from './wordpress.mjs';

const admin = await adminPage();
const { browser, page, go, notices } = admin;
// Deleting a plugin asks "Are you sure…?" with confirm().
page.on('dialog', (dialog) => dialog.accept());
const row = () => pluginRow(page, 'presence');

const actions = {
  async settings({ fields }) {
    await go('/wp-admin/options-general.php?page=presence');
    await page.evaluate(() => { for (const f of document.forms) f.noValidate = true; });
    for (const [name, value] of Object.entries(fields)) {
      await page.locator(`form [name="${name}"]`).first().fill(String(value));
    }
    await Promise.all([page.waitForURL(/settings-updated|options\.php|page=presence/), page.click('form #submit')]);
    await page.waitForLoadState('load');
    const values = {};
    for (const name of Object.keys(fields)) {
      values[name] = await page.locator(`form [name="${name}"]`).first().inputValue();
    }
    return { ...(await notices()), values };
  },

  async upload({ zip }) {
    await go('/wp-admin/plugin-install.php?tab=upload');
    await page.setInputFiles('#pluginzip', zip);
    await Promise.all([page.waitForURL(/update\.php\?action=upload-plugin/), page.click('#install-plugin-submit')]);
    await page.waitForLoadState('load');
    const report = (await page.locator('.wrap').first().innerText()).replace(/\s+/g, ' ').trim();
    const activate = page.locator('.wrap a[href*="action=activate"]').first();
    if (!(await activate.count())) throw new Error(`upload: no Activate link; the page says: ${report.slice(0, 600)}`);
    await Promise.all([page.waitForURL(/plugins\.php/), activate.click()]);
    await page.waitForLoadState('load');
    const r = await row();
    return { report, active: Boolean(r && (await isActive(r))), ...(await notices()) };
  },

  async 'network-activate'() { return networkLink('activate'); },
  async 'network-deactivate'() { return networkLink('deactivate'); },

  async delete({ network = false }) {
    const screen = network ? '/wp-admin/network/plugins.php' : '/wp-admin/plugins.php';
    await go(screen);
    let r = await row();
    if (!r) throw new Error('delete: the plugin is not on the Plugins screen');
    if (await isActive(r)) {
      await Promise.all([page.waitForURL(/plugins\.php/), r.locator('span.deactivate a').click()]);
      await page.waitForLoadState('load');
      r = await row();
    }
    // WordPress 4.6+ deletes over admin-ajax (wp.updates) after confirm(); the row goes.
    await r.locator('span.delete a').click();
    await page.waitForFunction(() => !document.querySelector('tr[data-slug="presence"]') ||
      document.querySelector('tr.plugin-deleted-tr'), null, { timeout: 60000 });
    const said = (await page.locator('tr.plugin-deleted-tr').allInnerTexts()).join(' ').replace(/\s+/g, ' ').trim();
    await go(screen);
    return { deleted: !(await row()), said };
  },

  async privacy() {
    await go('/wp-admin/privacy-policy-guide.php');
    // Each plugin's text is a section headed by its name (WordPress 5.3+: its own screen).
    // textContent: the sections are collapsed, and innerText leaves hidden text out.
    const texts = await page.locator('#wpbody-content').textContent();
    return { guide: texts.replace(/\s+/g, ' ') };
  },

  async reader({ url, server, token, post }) {
    const readers = [];
    const openReader = async () => {
      const ctx = await browser.newContext();
      const p = await ctx.newPage();
      p.setDefaultTimeout(30000);
      await p.goto(url, { waitUntil: 'load' });
      readers.push({ ctx, page: p });
      return p;
    };
    const countText = (p, n) => p.waitForFunction((n) => {
      const el = document.querySelector('.presence-readers-now [data-presence-viewers]');
      return el && el.getAttribute('data-presence-count') === String(n) && el.textContent.trim();
    }, n).then((h) => h.jsonValue());
    const a = await openReader();
    const alone = await countText(a, 1);
    await openReader();
    const two = await countText(a, 2);

    const send = async (notice) => {
      const r = await fetch(`${server}/api/posts/${post}/notices`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(notice),
      });
      if (r.status >= 300) throw new Error(`notice: HTTP ${r.status} ${await r.text()}`);
    };
    const bar = (linkHref) => a.waitForFunction((want) => {
      const b = document.querySelector('[role="status"] div');
      const link = b && b.querySelector('a');
      const button = b && b.querySelector('button');
      if (!link || !button || (want && link.getAttribute('href') !== want)) return null;
      return { text: b.firstChild.textContent.trim(), link: link.textContent, dismiss: button.getAttribute('aria-label') };
    }, linkHref).then((h) => h.jsonValue());
    await send({ kind: 'updated' });
    const updated = await bar(null);
    const more = 'https://example.com/more';
    await send({ kind: 'text', text: 'Hallo', url: more });
    const text = await bar(more);
    const lang = await a.evaluate(() => document.documentElement.lang);
    for (const r of readers) await r.ctx.close();
    return { lang, alone, two, updated, text };
  },
};

async function networkLink(action) {
  const active = await pluginLink(admin, '/wp-admin/network/plugins.php', 'presence', action);
  return { active, ...(await notices()) };
}

await runSteps(browser, actions);
