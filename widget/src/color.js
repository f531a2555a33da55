// Colour handling that keeps the clinic's brand colour but guarantees WCAG 2.1 AA contrast:
// text on the brand colour is white or near-black, whichever contrasts more (a mid-tone that
// reaches 4.5:1 with neither is darkened under white text),
// and the brand colour used as text or outline on light backgrounds is darkened until it
// reaches 4.5:1.

const FALLBACK = [11, 93, 122]; // #0b5d7a

/** @returns {[number, number, number] | null} */
export function parseHex(value) {
  const match = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value || "").trim());
  if (!match) return null;
  let hex = match[1];
  if (hex.length === 3) hex = hex.replace(/./g, (c) => c + c);
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

export function toHex(rgb) {
  return `#${rgb.map((c) => Math.round(Math.max(0, Math.min(255, c))).toString(16).padStart(2, "0")).join("")}`;
}

export function luminance(rgb) {
  const [r, g, b] = rgb.map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

const WHITE = [255, 255, 255];
const INK = [17, 24, 39]; // #111827

/** Text colour for use on `background`. */
export function textOn(background) {
  return contrast(background, WHITE) >= contrast(background, INK) ? WHITE : INK;
}

/** `color` darkened (if needed) to reach `ratio` against `background`. */
export function darkenFor(color, background, ratio = 4.5) {
  let current = color.slice();
  for (let i = 0; i < 40 && contrast(current, background) < ratio; i += 1) {
    current = current.map((c) => c * 0.92);
  }
  return current;
}

/**
 * CSS custom properties for a brand colour.
 * @param {string} brand hex colour from data-color
 * @returns {Record<string, string>}
 */
export function palette(brand) {
  let base = parseHex(brand) || FALLBACK;
  let text = textOn(base);
  if (contrast(base, text) < 4.5) {
    // Mid-tones (around #777) reach 4.5:1 with neither: darken them under white text.
    base = darkenFor(base, WHITE);
    text = WHITE;
  }
  const bubble = [238, 241, 245]; // --bts-bot-bg, the darkest light surface the accent sits on
  return {
    "--bts-brand": toHex(base),
    "--bts-on-brand": toHex(text),
    "--bts-accent": toHex(darkenFor(base, bubble)),
  };
}
