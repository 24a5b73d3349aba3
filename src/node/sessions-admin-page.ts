/**
 * The admin page of issue 5 part 2 (`GET /admin/sessions`;
 * docs/sessions-ttl.md): the cluster's session TTL figures drawn as charts,
 * refreshed every 2 s from `GET /admin/sessions/stats` on the same node.
 * One self-contained HTML document: inline CSS and JS drawing SVG, no build
 * step, nothing loaded from elsewhere (the route sends a CSP that forbids
 * it). Text from the JSON goes in with textContent, never as HTML.
 *
 * Charts: remaining-TTL histogram, sessions expiring within 1/5/30 min,
 * idle-time distribution with p50/p90 marked, and expired/swept per minute
 * plus active sessions over the time the page has been open.
 */

/** The page; the inline script must not contain backquotes or dollar-brace (this is a template literal). */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ringstore · sessions</title>
<style>
  :root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --mute:#6b7385; --line:#e3e6ec;
          --a:#3566d6; --b:#e0813a; --c:#2e9e6b; --warn:#b3261e; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
  header { display:flex; flex-wrap:wrap; align-items:baseline; gap:12px; padding:16px 24px; background:var(--card); border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0; }
  #status { color:var(--mute); }
  #status.bad { color:var(--warn); font-weight:600; }
  #partial { display:none; color:#fff; background:var(--warn); border-radius:4px; padding:2px 8px; font-size:12px; }
  main { padding:16px 24px; display:grid; gap:16px; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); }
  .tiles { grid-column:1 / -1; display:grid; gap:12px; grid-template-columns:repeat(auto-fit, minmax(140px, 1fr)); align-items:start; }
  .tile.wide { grid-column:span 2; }
  .tile, .card { background:var(--card); border:1px solid var(--line); border-radius:8px; }
  .tile { padding:12px 14px; }
  .tile .v { font-size:26px; font-weight:650; font-variant-numeric:tabular-nums; }
  .tile .k { color:var(--mute); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
  .card { padding:12px 14px 8px; }
  .card h2 { font-size:14px; margin:0 0 2px; }
  .card p { margin:0 0 6px; color:var(--mute); font-size:12px; }
  svg { width:100%; height:auto; display:block; }
  svg text { font-size:11px; fill:var(--mute); }
  svg .val { fill:var(--ink); font-weight:600; }
  .legend span { display:inline-block; margin-right:12px; font-size:12px; color:var(--mute); }
  .legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:-1px; }
</style>
</head>
<body>
<header>
  <h1>Sessions</h1>
  <span id="status">loading…</span>
  <span id="partial" title="some partitions had no replica that answered">partial</span>
</header>
<main>
  <section class="tiles" aria-label="figures">
    <div class="tile"><div class="v" id="t-active">–</div><div class="k">active sessions</div></div>
    <div class="tile"><div class="v" id="t-60">–</div><div class="k">expiring ≤ 1 min</div></div>
    <div class="tile"><div class="v" id="t-300">–</div><div class="k">expiring ≤ 5 min</div></div>
    <div class="tile"><div class="v" id="t-1800">–</div><div class="k">expiring ≤ 30 min</div></div>
    <div class="tile"><div class="v" id="t-expired">–</div><div class="k">expired / min</div></div>
    <div class="tile"><div class="v" id="t-swept">–</div><div class="k">swept / min</div></div>
    <div class="tile wide"><div class="v" id="t-idle">–</div><div class="k">idle p50 / p90 / max</div></div>
  </section>
  <section class="card"><h2>Remaining TTL</h2><p>live sessions per bucket of time left before expiry</p><svg id="c-ttl" viewBox="0 0 520 220" role="img" aria-label="remaining TTL histogram"></svg></section>
  <section class="card"><h2>Expiring soon</h2><p>live sessions whose TTL ends within…</p><svg id="c-within" viewBox="0 0 520 220" role="img" aria-label="sessions expiring within 1, 5 and 30 minutes"></svg></section>
  <section class="card"><h2>Idle time</h2><p>time since each live session was last written or touched; p50 and p90 marked</p><svg id="c-idle" viewBox="0 0 520 220" role="img" aria-label="idle time distribution"></svg></section>
  <section class="card"><h2>Expired and swept per minute</h2><p class="legend"><span><i style="background:var(--b)"></i>expired / min</span><span><i style="background:var(--c)"></i>swept / min</span><span><i style="background:var(--a)"></i>active (right axis)</span></p><svg id="c-rate" viewBox="0 0 520 220" role="img" aria-label="expired and swept per minute over time"></svg></section>
</main>
<script>
"use strict";
(function () {
  var NS = "http://www.w3.org/2000/svg";
  var W = 520, H = 220, L = 48, R = 12, T = 14, B = 34;
  var REFRESH_MS = 2000, HISTORY_MAX = 300;
  var history = [];
  var busy = false;

  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }
  function num(n) { return Number(n).toLocaleString("en-US"); }
  function dur(s) {
    if (s === "+Inf") return "∞";
    s = Number(s);
    if (s < 60) return (Math.round(s * 10) / 10) + "s";
    if (s < 3600) return (Math.round(s / 6) / 10) + "m";
    if (s < 86400) return (Math.round(s / 360) / 10) + "h";
    return (Math.round(s / 8640) / 10) + "d";
  }
  /** The smallest 4 x (1, 2 or 5 x 10^k) that holds v, at least 4: four gridlines at round numbers. */
  function niceMax(v) {
    var step = Math.max(v, 4) / 4;
    var p = Math.pow(10, Math.floor(Math.log10(step)));
    var m = step / p;
    return 4 * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function yAxis(svg, max, x, right, plotRight) {
    for (var i = 0; i <= 4; i++) {
      var v = max * i / 4, y = H - B - (H - B - T) * i / 4;
      if (!right) svg.appendChild(el("line", { x1: L, x2: plotRight || W - R, y1: y, y2: y, stroke: "#e3e6ec" }));
      svg.appendChild(el("text", { x: x, y: y + 4, "text-anchor": right ? "start" : "end" }, num(Math.round(v))));
    }
  }
  /** Per-bucket counts from a cumulative histogram. */
  function perBucket(hist) {
    var out = [], prev = 0;
    for (var i = 0; i < hist.length; i++) { out.push({ le: hist[i].le, lo: i ? hist[i - 1].le : 0, n: hist[i].count - prev }); prev = hist[i].count; }
    return out;
  }
  function bars(svg, items, color, labelOf, markers) {
    clear(svg);
    var max = niceMax(Math.max.apply(null, items.map(function (d) { return d.n; }).concat([0])));
    yAxis(svg, max, L - 6, false);
    var bw = (W - L - R) / Math.max(items.length, 1);
    items.forEach(function (d, i) {
      var h = (H - B - T) * d.n / max, x = L + i * bw;
      var r = el("rect", { x: x + bw * 0.12, y: H - B - h, width: bw * 0.76, height: Math.max(h, d.n > 0 ? 1 : 0), fill: color, rx: 2 });
      r.appendChild(el("title", {}, labelOf(d) + ": " + num(d.n)));
      svg.appendChild(r);
      if (d.n > 0 && bw > 22) svg.appendChild(el("text", { x: x + bw / 2, y: H - B - h - 3, "text-anchor": "middle", "class": "val" }, num(d.n)));
      if (items.length <= 16 || i % 2 === 0) svg.appendChild(el("text", { x: x + bw / 2, y: H - B + 14, "text-anchor": "middle" }, labelOf(d)));
    });
    (markers || []).forEach(function (m) {
      if (m.index < 0) return;
      var x = L + (m.index + m.frac) * bw;
      svg.appendChild(el("line", { x1: x, x2: x, y1: T, y2: H - B, stroke: m.color, "stroke-width": 2, "stroke-dasharray": "4 3" }));
      svg.appendChild(el("text", { x: x + 3, y: T + 10 + 13 * (m.row || 0), "class": "val" }, m.label));
    });
  }
  function ttlChart(s) {
    var items = perBucket(s.ttlHistogram);
    // Drop empty buckets past the last one in use (keep at least 8) so the bars stay wide.
    var last = 7;
    items.forEach(function (d, i) { if (d.n > 0) last = Math.max(last, i); });
    bars(document.getElementById("c-ttl"), items.slice(0, last + 1), "var(--a)", function (d) { return "≤" + dur(d.le); });
  }
  function withinChart(s) {
    var svg = document.getElementById("c-within");
    clear(svg);
    var keys = Object.keys(s.expiringWithin).sort(function (a, b) { return Number(a) - Number(b); });
    var max = niceMax(Math.max(s.active, 1));
    var rowH = (H - T - B) / (keys.length + 1);
    var rows = keys.map(function (k) { return { label: "≤ " + dur(k), n: s.expiringWithin[k], color: "var(--b)" }; });
    rows.push({ label: "all active", n: s.active, color: "var(--a)" });
    for (var i = 0; i <= 4; i++) {
      var x = 90 + (W - 90 - R) * i / 4;
      svg.appendChild(el("line", { x1: x, x2: x, y1: T, y2: H - B, stroke: "#e3e6ec" }));
      svg.appendChild(el("text", { x: x, y: H - B + 14, "text-anchor": "middle" }, num(Math.round(max * i / 4))));
    }
    rows.forEach(function (d, i) {
      var y = T + i * rowH, w = (W - 90 - R) * d.n / max;
      svg.appendChild(el("text", { x: 84, y: y + rowH / 2 + 4, "text-anchor": "end" }, d.label));
      var r = el("rect", { x: 90, y: y + rowH * 0.15, width: Math.max(w, d.n > 0 ? 1 : 0), height: rowH * 0.7, fill: d.color, rx: 2 });
      r.appendChild(el("title", {}, d.label + ": " + num(d.n)));
      svg.appendChild(r);
      var pct = s.active > 0 ? " (" + Math.round(100 * d.n / s.active) + "%)" : "";
      svg.appendChild(el("text", { x: 94 + w, y: y + rowH / 2 + 4, "class": "val" }, num(d.n) + pct));
    });
  }
  function markerFor(items, v, label, color, row) {
    for (var i = 0; i < items.length; i++) {
      var lo = Number(items[i].lo), hi = items[i].le === "+Inf" ? Math.max(v, lo) : Number(items[i].le);
      if (v <= hi) return { index: i, frac: hi > lo ? (v - lo) / (hi - lo) : 1, label: label, color: color, row: row };
    }
    return { index: -1 };
  }
  function idleChart(s) {
    var items = perBucket(s.idleHistogram);
    var first = items.length, last = 0;
    items.forEach(function (d, i) { if (d.n > 0) { first = Math.min(first, i); last = Math.max(last, i); } });
    if (first > last) { first = 0; last = 9; }
    first = Math.max(0, Math.min(first, last - 9));
    last = Math.min(items.length - 1, Math.max(last, first + 9));
    var shown = items.slice(first, last + 1);
    var marks = s.active > 0 ? [markerFor(shown, s.idleSeconds.p50, "p50 " + dur(s.idleSeconds.p50), "#1b6e4a", 0), markerFor(shown, s.idleSeconds.p90, "p90 " + dur(s.idleSeconds.p90), "var(--warn)", 1)] : [];
    bars(document.getElementById("c-idle"), shown, "var(--c)", function (d) { return "≤" + dur(d.le); }, marks);
  }
  function rateChart() {
    var svg = document.getElementById("c-rate");
    clear(svg);
    if (history.length === 0) return;
    var t0 = history[0].t, t1 = Math.max(history[history.length - 1].t, t0 + 1);
    var PR = W - 44; // room for the right axis
    var rmax = niceMax(Math.max.apply(null, history.map(function (h) { return Math.max(h.expired, h.swept); }).concat([1])));
    var amax = niceMax(Math.max.apply(null, history.map(function (h) { return h.active; }).concat([1])));
    yAxis(svg, rmax, L - 6, false, PR);
    yAxis(svg, amax, PR + 4, true);
    function line(key, max, color, width) {
      var pts = history.map(function (h) {
        var x = L + (PR - L) * (h.t - t0) / (t1 - t0), y = H - B - (H - B - T) * h[key] / max;
        return x.toFixed(1) + "," + y.toFixed(1);
      });
      svg.appendChild(el("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": width, "stroke-linejoin": "round" }));
    }
    line("active", amax, "var(--a)", 1.5);
    line("swept", rmax, "var(--c)", 2.5);
    line("expired", rmax, "var(--b)", 2.5);
    var span = (t1 - t0) / 1000;
    svg.appendChild(el("text", { x: L, y: H - B + 14 }, "-" + dur(span)));
    svg.appendChild(el("text", { x: PR, y: H - B + 14, "text-anchor": "end" }, "now"));
  }
  function tiles(s) {
    document.getElementById("t-active").textContent = num(s.active);
    ["60", "300", "1800"].forEach(function (k) { document.getElementById("t-" + k).textContent = num(s.expiringWithin[k] || 0); });
    document.getElementById("t-expired").textContent = num(s.expiredPerMinute);
    document.getElementById("t-swept").textContent = num(s.sweptPerMinute);
    var i = s.idleSeconds;
    document.getElementById("t-idle").textContent = dur(i.p50) + " / " + dur(i.p90) + " / " + dur(i.max);
  }
  function render(s) {
    tiles(s);
    ttlChart(s);
    withinChart(s);
    idleChart(s);
    history.push({ t: s.asOfMs, active: s.active, expired: s.expiredPerMinute, swept: s.sweptPerMinute });
    if (history.length > HISTORY_MAX) history.shift();
    rateChart();
    var st = document.getElementById("status");
    st.className = "";
    st.textContent = "as of " + new Date(s.asOfMs).toLocaleTimeString() + " · " + s.nodes.answered.length + " node(s) answered · " +
      s.partitions.covered + "/" + s.partitions.total + " partitions";
    document.getElementById("partial").style.display = s.partial ? "inline-block" : "none";
    document.body.setAttribute("data-rendered", String(s.asOfMs));
  }
  function refresh() {
    if (busy) return;
    busy = true;
    fetch("/admin/sessions/stats", { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(render)
      .catch(function (e) {
        var st = document.getElementById("status");
        st.className = "bad";
        st.textContent = "cannot load stats (" + e.message + "); retrying";
      })
      .then(function () { busy = false; });
  }
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
</script>
</body>
</html>
`;

export function sessionsAdminPage(): string {
  return PAGE;
}
