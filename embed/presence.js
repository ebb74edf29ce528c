/*! presence.js: live "N others reading". Socket.IO v5 over websocket only; no cookies, no storage. */
(function (w, d) {
  var s = d.currentScript || d.querySelector('script[src*="presence.js"][data-post-id]');
  var post = s && s.getAttribute('data-post-id');
  if (!post || w.presence) return;
  // https://host/x/presence.js?ver=1 -> wss://host/x/socket.io/
  var url = s.src.replace(/^http/, 'ws').replace(/presence\.js([?#].*)?$/, '') +
    'socket.io/?EIO=4&transport=websocket';
  var idle = +s.getAttribute('data-presence-idle') || 0;
  var tok = s.getAttribute('data-presence-token'); // signed view: "<expiry>.<hmac>"
  var P = w.presence = { post: post, viewers: 0, views: 0, connected: false };
  var ws, off, tries = 0, beat = 6e4, retryT, pingT, idleT;

  // Text attribute on the element, else on the script tag (views-… for views).
  function opt(el, v, name) {
    var a = 'data-presence-';
    return el.getAttribute(a + name) || s.getAttribute(a + (v ? 'views-' : '') + name);
  }

  function fill(kind, n) {
    var v = kind == 'views', k = v ? n : n - 1, // k = others (the count includes the reader)
      els = d.querySelectorAll('[data-presence-' + kind + ']'), i, el, t;
    if (!n) return;
    for (i = 0; i < els.length; i++) {
      el = els[i];
      // "one" falls back to "template", so a custom template alone is enough.
      t = k < 1 ? opt(el, v, 'zero') || '' : k == 1 && opt(el, v, 'one') || opt(el, v, 'template') ||
        (v ? k == 1 ? '1 view' : '{n} views' : k == 1 ? '1 other person reading' : '{n} other people reading');
      // A no-break space keeps the line box: hiding causes no layout shift.
      el.textContent = t.replace(/\{n\}/g, k.toLocaleString())
        .replace(/\{total\}/g, n.toLocaleString()) || '\u00a0';
      el.setAttribute('data-presence-count', n);
      el.hasAttribute('aria-live') || el.setAttribute('aria-live', 'polite');
    }
  }
  function render() { fill('viewers', P.viewers); fill('views', P.views); }

  function event(a) {
    if (a[0] == 'error') P.error = a[1];
    else if (a[1] == post && (a[0] == 'viewers' || a[0] == 'views')) fill(a[0], P[a[0]] = +a[2]);
  }

  function connect() {
    clearTimeout(retryT);
    if (off || ws) return;
    var me = ws = new WebSocket(url);
    function alive() { // no ping in pingInterval + pingTimeout: dead
      clearTimeout(pingT);
      pingT = setTimeout(function () { drop(me); }, beat);
    }
    alive();
    me.onmessage = function (e) {
      var m = e.data, t = m[0];
      if (me != ws) return;
      alive();
      if (t == '0') { // Engine.IO open: {"sid":…,"pingInterval":…,"pingTimeout":…}
        t = JSON.parse(m.slice(1));
        beat = t.pingInterval + t.pingTimeout + 1e3;
        alive();
        me.send('40'); // Socket.IO connect to namespace "/"
      } else if (t == '2') me.send('3'); // ping -> pong
      else if (t == '4') { // Engine.IO message carrying a Socket.IO packet
        t = m[1];
        if (t == '0') { // connected
          tries = 0;
          P.connected = true;
          me.send('42' + JSON.stringify(['viewing', tok ? { post: post, token: tok } : post]));
        } else if (t == '2') event(JSON.parse(m.slice(m.indexOf('['))));
        else if (t == '1' || t == '4') drop(me); // disconnect / connect_error
      } else if (t == '1') drop(me); // Engine.IO close
    };
    me.onclose = function () { drop(me); };
  }

  function close(me) {
    me.onmessage = me.onclose = null;
    // close() while CONNECTING logs a browser error; close once open instead.
    if (me.readyState) me.close(); else me.onopen = function () { me.close(); };
  }

  // Connection lost: reconnect after a random delay in [0, min(30 s, 1 s * 2^tries)].
  function drop(me) {
    if (me != ws) return;
    ws = null;
    P.connected = false;
    clearTimeout(pingT);
    close(me);
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

  // "Reading now" mode: stop counting once the tab is hidden for `idle` s.
  function vis() {
    clearTimeout(idleT);
    if (!d.hidden) start();
    else if (idle) idleT = setTimeout(stop, idle * 1e3);
  }
  d.addEventListener('visibilitychange', vis);
  w.addEventListener('pagehide', stop);
  w.addEventListener('pageshow', function (e) { e.persisted && vis(); });
  w.addEventListener('online', function () { if (!ws && !off) { tries = 0; connect(); } });
  // Elements parsed after an early answer get filled too.
  d.readyState == 'loading' && d.addEventListener('DOMContentLoaded', render);
  connect();
  vis();
})(window, document);
