/**
 * Chart export: an on-screen SVG chart as a self-contained SVG file (every colour, font and
 * pattern resolved from the CSS variables of the current theme and written inline, the title
 * above and the caption below), and the same drawn onto a canvas as PNG.
 */

/** The presentation properties the charts use; each is copied from the computed style. */
const PROPS = [
  'fill',
  'fill-opacity',
  'stroke',
  'stroke-width',
  'stroke-dasharray',
  'stroke-opacity',
  'stroke-linecap',
  'stroke-linejoin',
  'opacity',
  'font-family',
  'font-size',
  'font-weight',
  'font-style',
  'text-anchor',
  'dominant-baseline',
  'paint-order',
  'visibility',
] as const;

/** Replaces var(--name[, fallback]) in `text` with the value `lookup` gives (or the fallback). */
export function resolveVars(text: string, lookup: (name: string) => string): string {
  let out = text;
  // Innermost first, so fallbacks that are themselves var() resolve too.
  for (let guard = 0; guard < 10 && out.includes('var('); guard++) {
    out = out.replace(/var\(\s*(--[\w-]+)\s*(?:,\s*([^()]*))?\)/g, (_m, name: string, fallback?: string) => lookup(name).trim() || (fallback ?? '').trim());
  }
  return out;
}

let measureCtx: OffscreenCanvasRenderingContext2D | null | undefined;

/**
 * The width in pixels of `text` at `sizePx` in the app's font (`weight` 400 or 600), measured the
 * way the browser will draw it; where there is no canvas (a test DOM), a generous estimate.
 * Charts lay out their labels with this, on screen and so in the exported SVG and PNG.
 */
export function textWidth(text: string, sizePx: number, weight = 400): number {
  if (measureCtx === undefined) {
    measureCtx = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(1, 1).getContext('2d') : null;
  }
  if (!measureCtx || typeof document === 'undefined') return text.length * sizePx * 0.62;
  const family = getComputedStyle(document.documentElement).getPropertyValue('--font').trim() || 'sans-serif';
  measureCtx.font = `${weight} ${sizePx}px ${family}`;
  return measureCtx.measureText(text).width;
}

/**
 * Splits a caption into lines at spaces: of about `chars` characters, or, given `fits`, as many
 * words as `fits` accepts on a line (a measured width).
 */
export function wrapText(text: string, chars: number, fits?: (line: string) => boolean): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && (fits ? !fits(`${line} ${word}`) : line.length + 1 + word.length > chars)) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export interface SvgFile {
  markup: string;
  width: number;
  height: number;
}

/**
 * The chart as a standalone SVG document. Styles are read from the live element (so the theme in
 * use is what is exported) and written as inline style; classes are dropped (their rules do not
 * travel with the file).
 */
export function exportSvg(svg: SVGSVGElement, meta: { title: string; caption: string }): SvgFile {
  const root = getComputedStyle(document.documentElement);
  const lookup = (name: string) => root.getPropertyValue(name);
  const width = Math.round(svg.width.baseVal.value || svg.getBoundingClientRect().width || 600);
  const height = Math.round(svg.height.baseVal.value || svg.getBoundingClientRect().height || 300);

  const clone = svg.cloneNode(true) as SVGSVGElement;
  const src = [svg, ...svg.querySelectorAll('*')];
  const dst = [clone, ...clone.querySelectorAll('*')];
  src.forEach((el, i) => {
    const d = dst[i]!;
    const cs = getComputedStyle(el);
    const style = PROPS.map((p) => [p, cs.getPropertyValue(p)] as const)
      .filter(([, v]) => v !== '')
      .map(([p, v]) => `${p}:${resolveVars(v, lookup)}`)
      .join(';');
    d.setAttribute('style', style);
    d.removeAttribute('class');
    for (const a of ['fill', 'stroke'] as const) {
      const v = d.getAttribute(a);
      if (v?.includes('var(')) d.setAttribute(a, resolveVars(v, lookup));
    }
  });

  const font = resolveVars(root.getPropertyValue('--font') || 'sans-serif', lookup);
  const text = resolveVars('var(--text)', lookup) || '#000';
  const muted = resolveVars('var(--muted)', lookup) || '#666';
  const bg = resolveVars('var(--panel)', lookup) || '#fff';
  // The caption wrapped to the chart's width as measured in the font the file names.
  const captionLines = wrapText(meta.caption, Math.max(40, Math.floor(width / 6.2)), (line) => textWidth(line, 11) <= width - 16);
  const top = 26;
  const total = top + height + 8 + captionLines.length * 15;

  const doc = document.createElementNS(SVG_NS, 'svg');
  doc.setAttribute('xmlns', SVG_NS);
  doc.setAttribute('width', String(width));
  doc.setAttribute('height', String(total));
  doc.setAttribute('viewBox', `0 0 ${width} ${total}`);
  doc.setAttribute('style', `font-family:${font}`);
  const el = (name: string, attrs: Record<string, string>, content?: string) => {
    const e = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (content !== undefined) e.textContent = content;
    doc.appendChild(e);
    return e;
  };
  el('title', {}, meta.title);
  el('desc', {}, meta.caption);
  el('rect', { x: '0', y: '0', width: String(width), height: String(total), style: `fill:${bg}` });
  el('text', { x: '8', y: '17', style: `fill:${text};font-size:13px;font-weight:600;font-family:${font}` }, meta.title);
  const g = el('g', { transform: `translate(0 ${top})` });
  clone.setAttribute('x', '0');
  clone.setAttribute('y', '0');
  clone.removeAttribute('role');
  g.appendChild(clone);
  captionLines.forEach((line, i) => {
    el('text', { x: '8', y: String(top + height + 18 + i * 15), style: `fill:${muted};font-size:11px;font-family:${font}` }, line);
  });
  const markup = '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(doc);
  return { markup, width, height: total };
}

/** The exported SVG drawn onto a canvas at `scale`× (crisp on high-DPI screens), as a PNG data URL. */
export async function svgToPng(file: SvgFile, scale = 2): Promise<string> {
  const img = new Image();
  img.width = file.width;
  img.height = file.height;
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(file.markup)}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(file.width * scale);
  canvas.height = Math.round(file.height * scale);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser gave no 2D canvas to draw the PNG on');
  ctx.scale(scale, scale);
  ctx.drawImage(img, 0, 0, file.width, file.height);
  return canvas.toDataURL('image/png');
}
