/*! presence.js: see embed/README.md */
(function (w, d) {
  var s = d.currentScript || d.querySelector('script[src*="presence.js"]');
  function at(name) { return s.getAttribute('data-' + name); }
  if (!s || w.presence) return;
  var post = at('post-id');
  var url = s.src.replace(/^http/, 'ws').replace(/presence\.js([?#].*)?$/, '') +
    'socket.io/?EIO=4&transport=websocket';
  var idle = +at('presence-idle'), tok = at('presence-token');
  var P = w.presence = { post: post, viewers: 0, views: 0, connected: false };
  var ws, off, tries = 0, beat = 6e4, retryT, pingT, idleT, bar, seen = {}, counts = {}, sent, scanT, R;
  // plural forms: data-presence-template-<CLDR category>
  try { R = new Intl.PluralRules(d.documentElement.lang); } catch (e) {}

  function opt(el, p, name) {
    return el.getAttribute('data-presence-' + name) || at('presence-' + p + name);
  }

  function fill(kind, n, id, q) {
    var v = kind == 'views', els = d.querySelectorAll('[data-presence-' + kind + ']' + (q || '')), i, el, t, e, p, k;
    for (i = 0; i < els.length; i++) {
      el = els[i];
      e = el.getAttribute('data-post-id');
      p = e && e != post ? 'watch-' : v ? 'views-' : '';
      if (id != (p == 'watch-' ? e : post)) continue;
      k = p ? n : n - 1;
      t = k < 1 ? opt(el, p, 'zero') || '' : k == 1 && opt(el, p, 'one') ||
        R && el.getAttribute('data-presence-template-' + R.select(n)) || opt(el, p, 'template') ||
        (v ? k == 1 ? '1 view' : '{n} views' : p ? '{n} reading' : k == 1 ? '1 other person reading' : '{n} other people reading');
      el.textContent = t.replace(/\{n\}/g, k.toLocaleString())
        .replace(/\{total\}/g, n.toLocaleString()) || '\u00a0';
      el.setAttribute('data-presence-count', n);
      el.hasAttribute('aria-live') || el.setAttribute('aria-live', 'polite');
    }
  }

  function add(p, tag, text, css) {
    var e = d.createElement(tag);
    e.textContent = text;
    e.style.cssText = css;
    return p.appendChild(e);
  }

  function notice(n) {
    var u = n.kind == 'updated', t = n.text || u && (at('presence-updated') || 'This post was updated.'), l = /^https?:/.test(n.url) && n.url, b;
    if (!t || seen[n.id] || at('presence-notices') == 'off') return;
    if (!bar) { // an empty live region first: new ones are not announced
      bar = add(d.body, 'div', '', 'position:fixed;inset:auto 0 0;z-index:9999');
      bar.setAttribute('role', 'status');
      bar.setAttribute('aria-live', 'polite');
      return setTimeout(notice, 99, n);
    }
    seen[n.id] = 1;
    bar.textContent = '';
    b = add(bar, 'div', t + ' ', 'padding:.5em 1em;font:15px system-ui;color-scheme:light dark;background:Canvas;color:CanvasText;border-top:1px solid');
    if (u || l) add(b, 'a', u ? at('presence-reload') || 'Reload' : at('presence-more') || 'More', 'color:inherit').href = l || d.URL.split('#')[0];
    b = add(b, 'button', '\u00d7', 'float:right;border:0;background:0;font-size:20px');
    b.setAttribute('aria-label', at('presence-dismiss') || 'Dismiss');
    b.onclick = function () { bar.textContent = ''; };
  }

  function event(a) {
    var e = a[0], x = a[1], n = +a[2];
    if (e == 'error') P.error = x;
    else if (e == 'notice') x && notice(x);
    else if (e == 'views') x == post && fill(e, P.views = n, x);
    else if (e == 'viewers') fill(e, counts[x] = x == post ? P.viewers = n : n, x);
    P.on && P.on(a);
  }

  function watch() {
    var l = [], els = d.querySelectorAll('[data-presence-viewers][data-post-id]'), i, e;
    for (i = 0; i < els.length; i++) {
      e = els[i].getAttribute('data-post-id');
      e != post && /^[\w-]{1,64}$/.test(e) && l.indexOf(e) < 0 && l.length < 50 && l.push(e);
    }
    e = JSON.stringify(l);
    if (P.connected && e != sent) ws.send('42["watch",' + (sent = e) + ']');
    return l.length;
  }

  function connect() {
    clearTimeout(retryT);
    if (off || ws || !post && !watch()) return;
    var me = ws = new WebSocket(url);
    function alive() {
      clearTimeout(pingT);
      pingT = setTimeout(function () { drop(me); }, beat);
    }
    alive();
    me.onmessage = function (e) {
      var m = e.data, t = m[0];
      if (me != ws) return;
      alive();
      if (t == '0') {
        t = JSON.parse(m.slice(1));
        beat = t.pingInterval + t.pingTimeout + 1e3;
        alive();
        me.send('40');
      } else if (t == '2') me.send('3');
      else if (t == '4') {
        t = m[1];
        if (t == '0') {
          tries = 0;
          P.connected = true;
          sent = '[]';
          post && me.send('42' + JSON.stringify(['viewing', tok ? { post: post, token: tok } : post]));
          watch();
        } else if (t == '2') event(JSON.parse(m.slice(m.indexOf('['))));
        else if (t == '1' || t == '4') drop(me);
      } else if (t == '1') drop(me);
    };
    me.onclose = function () { drop(me); };
  }

  function drop(me) {
    if (me != ws) return;
    ws = null;
    P.connected = false;
    clearTimeout(pingT);
    me.onmessage = me.onclose = null;
    // close() while CONNECTING logs an error
    if (me.readyState) me.close(); else me.onopen = function () { me.close(); };
    if (!off) retryT = setTimeout(connect, Math.random() * Math.min(3e4, 1e3 * Math.pow(2, tries++)));
  }

  function stop() {
    off = 1;
    clearTimeout(retryT);
    ws && drop(ws);
  }
  function start() {
    if (off) { off = 0; tries = 0; connect(); }
  }

  function vis() {
    clearTimeout(idleT);
    if (!d.hidden) start();
    else if (idle) idleT = setTimeout(stop, idle * 1e3);
  }
  d.addEventListener('visibilitychange', vis);
  w.addEventListener('pagehide', stop);
  w.addEventListener('pageshow', function (e) { e.persisted && vis(); });
  w.addEventListener('online', function () { tries = 0; connect(); });
  function scan() {
    var q = ':not([data-presence-count])', x;
    scanT = 0;
    for (x in counts) fill('viewers', counts[x], x, q);
    P.views && fill('views', P.views, post, q);
    retryT || connect();
    watch();
  }
  new MutationObserver(function () { scanT = scanT || setTimeout(scan, 99); })
    .observe(d, { childList: true, subtree: true });
  connect();
  vis();
})(window, document);
