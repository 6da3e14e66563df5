// Types for scripts/makeIcons.mjs, for the test that checks build/ holds its output.
export function drawIcon(n: number): Buffer;
export function encodePng(n: number, rgba: Buffer): Buffer;
export function encodeIco(images: { size: number; png: Buffer }[]): Buffer;
export function encodeIcns(images: { size: 256 | 512; png: Buffer }[]): Buffer;
