/**
 * The shop's HTML: plain server-rendered pages with forms, so every action
 * works without script, plus two fragments (the cart and the network panel)
 * that shop.js refreshes in place. What a browser test may rely on is listed
 * in DESIGN.md "Demo shop page": an input name="user", buttons labelled
 * "Add to cart", cart rows carrying `data-sku` and `data-qty`, and the
 * "Cut the link" / "Heal the link" control.
 */
import { CATALOGUE, formatPrice, productOf } from './catalogue';
import type { NodeInfo, PartitionState } from './cluster-view';
import type { Items } from './cart-view';

export interface CartModel {
  items: Items;
  merged: Items;
  mode: 'quorum' | 'local';
  node: NodeInfo;
}

export interface ShopModel {
  user: string;
  region: string;
  regions: string[];
  nodes: NodeInfo[];
  cart: CartModel | { error: string };
  partition: PartitionState;
  flash?: string;
  storeLabel: string;
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function layout(title: string, body: string, withScript: boolean): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="stylesheet" href="/static/shop.css">
</head>
<body>
${body}
${withScript ? '<script src="/static/shop.js" defer></script>' : ''}
</body>
</html>
`;
}

function brand(): string {
  return '<a class="brand" href="/"><span class="brand-ring" aria-hidden="true"></span>ringstore shop</a>';
}

function regionOptions(regions: string[], selected: string): string {
  return regions.map((r) => `<option value="${esc(r)}"${r === selected ? ' selected' : ''}>${esc(r)}</option>`).join('');
}

export function signInPage(o: { regions: string[]; region: string; error?: string; user?: string }): string {
  return layout('Sign in · ringstore shop', `
<main class="signin">
  <div class="signin-card">
    ${brand()}
    <h1>Sign in</h1>
    <p class="muted">Just a name: sign in with the same name in two browsers to see one cart merge across devices.</p>
    ${o.error ? `<p class="flash error" role="alert">${esc(o.error)}</p>` : ''}
    <form method="post" action="/signin" class="stack">
      <label>Your name <input name="user" autocomplete="username" required maxlength="40" value="${esc(o.user ?? '')}" autofocus></label>
      <label>This device talks to <select name="region">${regionOptions(o.regions, o.region)}</select></label>
      <button type="submit" class="primary">Sign in</button>
    </form>
  </div>
</main>`, false);
}

export function shopPage(m: ShopModel): string {
  return layout(`${m.user}'s cart · ringstore shop`, `
<header class="topbar">
  ${brand()}
  <form method="post" action="/device" class="device" title="Which region's node this browser talks to">
    <label>Device in <select name="region">${regionOptions(m.regions, m.region)}</select></label>
    <button type="submit">Switch</button>
  </form>
  <div class="who">Signed in as <b id="user">${esc(m.user)}</b>
    <form method="post" action="/signout" class="inline"><button type="submit" class="link">Sign out</button></form>
  </div>
</header>
${m.flash ? `<p class="flash error" role="alert">${esc(m.flash)}</p>` : ''}
${networkSection(m)}
<p class="howto muted">To watch a merge: sign in as the same name in a second browser on another region, cut the link, shop on both sides, then heal.</p>
<main class="shop">
  <section class="catalogue" aria-label="Products">
    <h2>Products</h2>
    <div class="grid">
      ${CATALOGUE.map((p) => `
      <article class="product" data-sku="${esc(p.sku)}">
        <div class="tile" style="--hue:${p.hue}" aria-hidden="true">${esc(p.name.slice(0, 1))}</div>
        <h3>${esc(p.name)}</h3>
        <p class="muted">${esc(p.blurb)}</p>
        <div class="buy">
          <span class="price">${formatPrice(p.priceCents)}</span>
          <form method="post" action="/cart/add"><input type="hidden" name="sku" value="${esc(p.sku)}"><button type="submit" class="primary">Add to cart</button></form>
        </div>
      </article>`).join('')}
    </div>
  </section>
  ${cartSection(m)}
</main>
<footer class="footer muted">Carts: an observed-remove set replicated on ${m.nodes.length} ringstore nodes · Sessions: ${esc(m.storeLabel)}${adminLink(m)}</footer>
`, true);
}

export function cartSection(m: ShopModel): string {
  if ('error' in m.cart) {
    return `<aside id="cart" class="cart" aria-label="Cart"><h2>Cart</h2><p class="flash error" role="alert">Cart unavailable: ${esc(m.cart.error)}</p></aside>`;
  }
  const { items, merged, mode, node } = m.cart;
  const skus = [...new Set([...Object.keys(items), ...Object.keys(merged)])].sort(byCatalogueOrder);
  const count = Object.values(items).reduce((a, b) => a + b, 0);
  const total = Object.entries(items).reduce((a, [sku, q]) => a + (productOf(sku)?.priceCents ?? 0) * q, 0);
  const anyMerged = Object.keys(merged).length > 0;
  const rows = skus.map((sku) => {
    const qty = items[sku] ?? 0;
    const d = merged[sku] ?? 0;
    const p = productOf(sku);
    const name = p?.name ?? sku;
    const badge = d > 0 ? `<span class="badge in">+${d} arrived by merge</span>`
      : d < 0 ? `<span class="badge out">&minus;${-d} removed on another device</span>` : '';
    const cls = ['cart-item', d !== 0 ? 'merged' : '', qty === 0 ? 'gone' : ''].filter(Boolean).join(' ');
    const controls = qty === 0 ? '' : `
      <div class="controls">
        <form method="post" action="/cart/add"><input type="hidden" name="sku" value="${esc(sku)}"><button type="submit" aria-label="One more ${esc(name)}" title="One more">+</button></form>
        <form method="post" action="/cart/decrement"><input type="hidden" name="sku" value="${esc(sku)}"><button type="submit" aria-label="One fewer ${esc(name)}" title="One fewer">&minus;</button></form>
        <form method="post" action="/cart/remove"><input type="hidden" name="sku" value="${esc(sku)}"><button type="submit" class="link" aria-label="Remove ${esc(name)}">Remove</button></form>
      </div>`;
    return `
    <li class="${cls}" data-sku="${esc(sku)}" data-qty="${qty}" data-merged="${d}">
      <span class="swatch" style="--hue:${p?.hue ?? 0}" aria-hidden="true"></span>
      <span class="name">${esc(name)}</span>
      <span class="qty">&times; <b class="qty-value">${qty}</b></span>
      ${badge}${controls}
    </li>`;
  }).join('');
  const readNote = mode === 'quorum'
    ? `Read from ${esc(node.id)} (${esc(node.region)}), merged across regions by quorum.`
    : `${esc(node.region)} is cut off: read from its own replica only. Changes here reach the others after the heal.`;
  return `<aside id="cart" class="cart" aria-label="Cart" data-mode="${mode}">
  <h2>Cart <span class="count">${count} item${count === 1 ? '' : 's'}</span></h2>
  <p class="readmode ${mode}">${readNote}</p>
  ${skus.length === 0 ? '<p class="empty muted">Your cart is empty.</p>' : `<ul class="cart-items">${rows}</ul>`}
  <p class="total">Total <b>${formatPrice(total)}</b></p>
  ${anyMerged ? `<div class="merge-note"><span>Highlighted rows changed on another device and arrived here by merge.</span>
  <form method="post" action="/cart/dismiss"><button type="submit" class="link">Got it</button></form></div>` : ''}
</aside>`;
}

export function networkSection(m: ShopModel): string {
  const { isolated, anyCut, unknown } = m.partition;
  const status = isolated.length > 0
    ? `${isolated.map(esc).join(', ')} cut off from the other regions`
    : anyCut ? 'Some links are cut' : 'All regions connected';
  const chip = (r: string): string => {
    const nodes = m.nodes.filter((n) => n.region === r);
    const cls = ['region', r === m.region ? 'mine' : '', isolated.includes(r) ? 'isolated' : ''].filter(Boolean).join(' ');
    return `<li class="${cls}" data-region="${esc(r)}">
      <b>${esc(r)}</b>
      <span class="muted">${nodes.map((n) => `${esc(n.id)} · ${esc(n.addr)}`).join(', ')}</span>
      ${r === m.region ? '<span class="tag">this device</span>' : ''}
    </li>`;
  };
  const chips = m.regions.map((r, i) => {
    if (i === 0) return chip(r);
    const cut = isolated.includes(r) || isolated.includes(m.regions[i - 1]!);
    return `<li class="link-line${cut ? ' cut' : ''}" aria-hidden="true"></li>${chip(r)}`;
  }).join('');
  const control = anyCut
    ? '<button type="submit" name="action" value="heal" class="heal">Heal the link</button>'
    : `<button type="submit" name="action" value="cut" class="cut">Cut the link</button><span class="hint muted"> cuts ${esc(m.region)} off from the others</span>`;
  return `<section id="network" class="network${anyCut ? ' partitioned' : ''}" aria-label="Network" data-partitioned="${anyCut}">
  <ul class="regions">${chips}</ul>
  <div class="network-status">
    <span class="dot" aria-hidden="true"></span><span id="partition-status">${status}</span>
    ${unknown.length ? `<span class="muted">(no answer from ${unknown.map(esc).join(', ')})</span>` : ''}
    <form method="post" action="/partition" class="inline" title="Cut ${esc(m.region)} off from the other regions, or heal">${control}</form>
  </div>
</section>`;
}

export function errorPage(status: number, message: string): string {
  return layout('Error · ringstore shop', `
<main class="signin"><div class="signin-card">${brand()}<h1>Something went wrong</h1>
<p class="flash error" role="alert">${esc(message)}</p><p class="muted">HTTP ${status}</p><p><a href="/">Back to the shop</a></p></div></main>`, false);
}

/** The node's session TTL dashboard (served by every node at /admin/sessions). */
function adminLink(m: ShopModel): string {
  const node = m.nodes.find((n) => n.region === m.region) ?? m.nodes[0];
  return node ? ` · <a href="http://${esc(node.addr)}/admin/sessions">session TTL dashboard</a>` : '';
}

function byCatalogueOrder(a: string, b: string): number {
  const ia = CATALOGUE.findIndex((p) => p.sku === a);
  const ib = CATALOGUE.findIndex((p) => p.sku === b);
  return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib) || a.localeCompare(b);
}
