// Keeps the cart and the network panel of the demo shop live: every 1.5 s it
// asks the shop for both fragments (GET /live) and swaps them in, so a merge
// after a heal shows up without a reload. Forms still work without it.
(function () {
  'use strict';
  var busy = false;
  var stopped = false;
  function swap(id, html) {
    var el = document.getElementById(id);
    if (!el || el.outerHTML === html) return;
    var tmp = document.createElement('div');
    tmp.innerHTML = html;
    if (tmp.firstElementChild) el.replaceWith(tmp.firstElementChild);
  }
  function tick() {
    if (busy || stopped) return;
    busy = true;
    fetch('/live', { credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) { stopped = true; location.href = '/'; return null; }
        return res.ok ? res.json() : null;
      })
      .then(function (body) {
        if (!body || stopped) return;
        swap('cart', body.cart);
        swap('network', body.network);
        document.body.dataset.lastSync = String(Date.now());
      })
      .catch(function () { /* the next tick tries again */ })
      .then(function () { busy = false; });
  }
  // A form submit navigates away: stop polling so the poll cannot race it.
  document.addEventListener('submit', function () { stopped = true; }, true);
  window.addEventListener('pageshow', function () { stopped = false; });
  setInterval(tick, 1500);
})();
