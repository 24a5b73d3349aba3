/**
 * The demo shop's catalogue: a fixed handful of products. A SKU is the item
 * name stored in the cart CRDT (DESIGN.md Data model: cart), so it stays short
 * and stable; everything else here is presentation.
 */
export interface Product {
  sku: string;
  name: string;
  blurb: string;
  priceCents: number;
  /** Tile colour: the page draws no images, so nothing is fetched from outside. */
  hue: number;
}

export const CATALOGUE: readonly Product[] = [
  { sku: 'tea', name: 'Green tea', blurb: 'Loose-leaf sencha, 100 g tin', priceCents: 850, hue: 120 },
  { sku: 'mug', name: 'Stoneware mug', blurb: 'Hand-glazed, 350 ml', priceCents: 1400, hue: 25 },
  { sku: 'socks', name: 'Wool socks', blurb: 'Merino, one size fits most', priceCents: 1200, hue: 280 },
  { sku: 'notebook', name: 'Dot-grid notebook', blurb: 'A5, 192 pages', priceCents: 1100, hue: 210 },
  { sku: 'beans', name: 'Coffee beans', blurb: 'Washed Ethiopian, 250 g', priceCents: 1300, hue: 35 },
  { sku: 'poster', name: 'Ring poster', blurb: 'Consistent hashing, A2 print', priceCents: 1900, hue: 330 },
  { sku: 'lamp', name: 'Desk lamp', blurb: 'Warm LED, dimmable', priceCents: 3900, hue: 50 },
  { sku: 'stickers', name: 'Sticker pack', blurb: 'Twelve vinyl stickers', priceCents: 400, hue: 175 },
];

const BY_SKU = new Map(CATALOGUE.map((p) => [p.sku, p]));

export function productOf(sku: string): Product | undefined {
  return BY_SKU.get(sku);
}

export function formatPrice(cents: number): string {
  return `€${(cents / 100).toFixed(2)}`;
}
