// Types for scripts/bundleSizes.mjs, for its test.
export const PARTS: readonly ['renderer', 'main', 'preload'];
export interface BundleSize { part: 'renderer' | 'main' | 'preload'; file: string; bytes: number; gzipBytes: number }
export interface BundleReport { files: BundleSize[]; totals: Record<string, { files: number; bytes: number; gzipBytes: number }> }
export function bundleSizes(outDir: string): BundleReport;
export function formatSizes(report: BundleReport): string;
export function writeBundleSizes(outDir: string): BundleReport;
