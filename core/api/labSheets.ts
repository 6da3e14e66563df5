/**
 * The built-in lab sheets, one per claim C1…C9 (core/api/labs/*.json, bundled with the app). Each is
 * validated against the preset list when this module loads: a broken built-in sheet is left out
 * and its problems listed in BUILTIN_SHEET_PROBLEMS (the tests require that list to be empty).
 */
import c1 from './labs/c1.json';
import c2 from './labs/c2.json';
import c3 from './labs/c3.json';
import c4 from './labs/c4.json';
import c5 from './labs/c5.json';
import c6 from './labs/c6.json';
import c7 from './labs/c7.json';
import c8 from './labs/c8.json';
import c9 from './labs/c9.json';
import { validateSheet, type LabSheet, type SheetProblem } from './labs.js';
import { PRESETS } from './presets.js';

const RAW: Record<string, unknown> = { 'c1.json': c1, 'c2.json': c2, 'c3.json': c3, 'c4.json': c4, 'c5.json': c5, 'c6.json': c6, 'c7.json': c7, 'c8.json': c8, 'c9.json': c9 };

export const PRESET_IDS: readonly string[] = PRESETS.map((p) => p.id);

export const BUILTIN_SHEET_PROBLEMS: { file: string; problems: SheetProblem[] }[] = [];
export const BUILTIN_SHEETS: readonly LabSheet[] = Object.entries(RAW).flatMap(([file, doc]) => {
  const v = validateSheet(doc, PRESET_IDS);
  if (v.ok) return [v.sheet];
  BUILTIN_SHEET_PROBLEMS.push({ file, problems: v.problems });
  return [];
});
