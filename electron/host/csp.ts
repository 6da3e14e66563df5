/**
 * The renderer's Content-Security-Policy, one string for both hosts (the app:// protocol in
 * Electron and the browser-mode server): scripts only from the app itself, no eval, workers from
 * the app (or blob: for the bundler's worker wrapper), no plugins, no framing, no remote origins.
 * Inline styles are allowed because Svelte and uPlot set style attributes.
 */
export const RENDERER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
