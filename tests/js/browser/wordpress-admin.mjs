// Does what a site owner does in wp-admin, in headless Chromium: the steps of WP_STEPS (a
// JSON array, run in order), each one of
//   {do:"login"}                                  log in on wp-login.php, keep the cookies in WP_STATE
//   {do:"activate"|"deactivate", plugin:"slug"}   its link on the Plugins screen
//   {do:"settings", fields:{name: value}}         the plugin's settings form (Settings → Presence)
//   {do:"permalinks", structure:"/%postname%/"}   Settings → Permalinks
//   {do:"theme", slug:"twentytwentyone"}          the theme's Activate link on Appearance → Themes
//   {do:"publish", posts:[{title, content}]}      the REST API as the editor calls it
//   {do:"update", id, fields:{content}}           saves a post through the REST API as the block editor does
//   {do:"visit", path:"/wp-admin/widgets.php"}    opens a page as the admin, waits 2 s after load; returns
//                                                 its title and the data-post-id presence.js would get (or null)
// Prints one JSON line: each step's result, in order.
import { adminPage, site, env, restNonce, rest, pluginLink, runSteps } from './wordpress.mjs';

const admin = await adminPage();
const { browser, context, page, go, notices } = admin;

const actions = {
  async login() {
    await go('/wp-login.php');
    await page.fill('#user_login', env('WP_USER'));
    await page.fill('#user_pass', env('WP_PASSWORD'));
    await Promise.all([page.waitForURL(/\/wp-admin\//), page.click('#wp-submit')]);
    await context.storageState({ path: env('WP_STATE') });
    return { user: env('WP_USER') };
  },

  async activate({ plugin }) { return { plugin, active: await pluginLink(admin, '/wp-admin/plugins.php', plugin, 'activate') }; },
  async deactivate({ plugin }) { return { plugin, active: await pluginLink(admin, '/wp-admin/plugins.php', plugin, 'deactivate') }; },

  async settings({ fields, page: slug = 'presence' }) {
    await go(`/wp-admin/options-general.php?page=${slug}`);
    for (const [name, value] of Object.entries(fields)) {
      const field = page.locator(`form [name="${name}"]`).first();
      const kind = await field.evaluate((el) => (el.tagName === 'SELECT' ? 'select' : el.type));
      if (kind === 'checkbox') await field.setChecked(Boolean(value) && value !== '0');
      else if (kind === 'radio') await page.check(`form [name="${name}"][value="${value}"]`);
      else if (kind === 'select') await field.selectOption(String(value));
      else await field.fill(String(value));
    }
    await Promise.all([page.waitForURL(/settings-updated|options\.php/), page.click('form #submit')]);
    await page.waitForLoadState('load');
    const values = {};
    for (const name of Object.keys(fields)) {
      values[name] = await page.locator(`form [name="${name}"]`).first()
        .evaluate((el) => (el.type === 'checkbox' ? (el.checked ? '1' : '') : el.value));
    }
    return { ...(await notices()), values };
  },

  async permalinks({ structure }) {
    await go('/wp-admin/options-permalink.php');
    const radio = page.locator(`input[name="selection"][value="${structure}"]`);
    if (await radio.count()) await radio.check();
    else {
      await page.check('#custom_selection');
      await page.fill('#permalink_structure', structure);
    }
    await Promise.all([page.waitForURL(/options-permalink\.php/), page.click('#submit')]);
    await page.waitForLoadState('load');
    const saved = await page.inputValue('#permalink_structure');
    if (saved !== structure) throw new Error(`permalinks: saved ${saved}, wanted ${structure}`);
    // Pretty permalinks take effect one request after they are saved.
    await go('/wp-admin/options-permalink.php');
    return { structure: saved };
  },

  async theme({ slug }) {
    await go('/wp-admin/themes.php');
    await page.waitForSelector('.themes .theme[data-slug]', { state: 'attached' });
    const active = await page.locator(`.theme.active[data-slug="${slug}"]`).count();
    if (!active) {
      const link = page.locator(`.theme[data-slug="${slug}"] a.activate`).first();
      if (!(await link.count())) {
        const slugs = await page.$$eval('.theme[data-slug]', (els) => els.map((e) => `${e.dataset.slug}${e.classList.contains('active') ? ' (active)' : ''}`));
        throw new Error(`theme ${slug} is not installed; the Themes screen has ${slugs.join(', ')}`);
      }
      // The link shows on hover: follow it as a click would.
      await go(new URL(await link.getAttribute('href'), `${site()}/wp-admin/`).href.replace(site(), ''));
    }
    const now = await page.locator('.theme.active').first().getAttribute('data-slug');
    if (now !== slug) throw new Error(`theme: ${now} is active, wanted ${slug}`);
    return { theme: now };
  },

  async visit({ path }) {
    await go(path);
    await page.waitForTimeout(2000);
    const html = await page.content();
    const counted = /"data-post-id":"([^"]+)"/.exec(html);
    return { path, title: await page.title(), postId: counted ? counted[1] : null };
  },

  async update({ id, fields, type = 'posts' }) {
    if (!page.url().includes('/wp-admin/')) await go('/wp-admin/');
    const nonce = await restNonce(page);
    const r = await rest(page, nonce, 'POST', `/wp/v2/${type}/${id}`, fields);
    if (r.status !== 200) throw new Error(`update ${id}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    return { id, status: r.status };
  },

  async publish({ posts, type = 'posts' }) {
    if (!page.url().includes('/wp-admin/')) await go('/wp-admin/');
    const nonce = await restNonce(page);
    const published = [];
    for (const post of posts) {
      const r = await rest(page, nonce, 'POST', `/wp/v2/${type}`, { status: 'publish', ...post });
      if (r.status !== 201) throw new Error(`publish ${post.title}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      published.push({ id: r.body.id, link: r.body.link, title: post.title });
    }
    return published;
  },
};

await runSteps(browser, actions);
