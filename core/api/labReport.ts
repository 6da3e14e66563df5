/**
 * A lab sheet's exported report: one self-contained HTML file (no scripts run, no outside
 * resources) with the steps, the student's predictions, observed beside expected, the chart as
 * inline SVG and print CSS; plus a machine-readable copy in a
 * <script type="application/json" id="hyperlab-lab-report"> block, which the teacher summary reads.
 */
import { CLAIMS, fmtValue, passCount, type ChartRow, type CheckOutcome, type LabSheet, type SheetProgress } from './labs.js';

/** The embedded JSON's format; a summary refuses a report of another. */
export const LAB_REPORT_FORMAT = 'hyperlab-lab-report/1';
export const LAB_REPORT_ELEMENT_ID = 'hyperlab-lab-report';

export interface LabReportData {
  format: typeof LAB_REPORT_FORMAT;
  student: string;
  sheetId: string;
  claim: string;
  title: string;
  exportedAt: string;
  appVersion: string;
  passed: number;
  total: number;
  /** Whether the sheet was run (predictions locked and checks evaluated). */
  ran: boolean;
  predictions: { question: string; answer: string; expected?: string }[];
  checks: CheckOutcome[];
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The paging modes' colours (STYLE/UI visual language): native grey, PV green, shadow amber, HAP blue. */
const MODE_COLOUR: Record<string, string> = { native: '#7a7a7a', pv: '#2e8b57', shadow: '#d08a00', hap: '#2f6fce' };
const PART_OPACITY = { guest: 1, hypervisor: 0.6, walk: 0.3 } as const;

/** Thin-space thousands separators, as the app shows numbers. */
function num(n: number): string {
  const r = n >= 100 ? Math.round(n) : Number(n.toPrecision(3));
  const [i, f] = String(r).split('.');
  return i!.replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009') + (f ? `.${f}` : '');
}

/**
 * Horizontal stacked bars: cycles per operation per domain, split into guest / hypervisor / page
 * walk, coloured by paging mode and labelled (colour is never the only cue). Empty rows: ''.
 */
export function chartSvg(rows: readonly ChartRow[], title = 'Cycles per operation by domain'): string {
  if (rows.length === 0) return '';
  const W = 640;
  const left = 150;
  const right = 90;
  const barH = 18;
  const gap = 8;
  const top = 30;
  const h = top + rows.length * (barH + gap) + 52;
  const max = Math.max(1, ...rows.map((r) => r.guest + r.hypervisor + r.walk));
  const sx = (v: number) => ((W - left - right) * v) / max;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="${esc(title)}" font-family="sans-serif" font-size="12">`);
  parts.push(`<title>${esc(title)}</title><text x="${left}" y="16" font-weight="600">${esc(title)}</text>`);
  rows.forEach((r, i) => {
    const y = top + i * (barH + gap);
    const colour = MODE_COLOUR[r.mode] ?? '#7a7a7a';
    parts.push(`<text x="${left - 6}" y="${y + barH - 5}" text-anchor="end">${esc(r.name)} (${esc(r.mode)})</text>`);
    let x = left;
    for (const k of ['guest', 'hypervisor', 'walk'] as const) {
      const w = sx(r[k]);
      if (w > 0) parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colour}" fill-opacity="${PART_OPACITY[k]}" stroke="${colour}"><title>${esc(r.name)} ${k}: ${num(r[k])} cycles/op</title></rect>`);
      x += w;
    }
    parts.push(`<text x="${(x + 4).toFixed(1)}" y="${y + barH - 5}">${num(r.guest + r.hypervisor + r.walk)}</text>`);
  });
  const axisY = top + rows.length * (barH + gap);
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${W - right}" y2="${axisY}" stroke="#888"/>`);
  parts.push(`<text x="${left}" y="${axisY + 14}">0</text><text x="${W - right}" y="${axisY + 14}" text-anchor="end">${num(max)}</text>`);
  parts.push(`<text x="${(left + W - right) / 2}" y="${axisY + 28}" text-anchor="middle">cycles per operation</text>`);
  parts.push(`<text x="8" y="${axisY + 44}" font-size="11">Each bar: guest (solid), hypervisor (lighter), page walk (lightest); colour and label: paging mode.</text>`);
  parts.push('</svg>');
  return parts.join('');
}

export interface ReportInput {
  sheet: LabSheet;
  student: string;
  progress: SheetProgress | undefined;
  appVersion: string;
  /** ISO 8601 (passed in: core has no clock of its own). */
  exportedAt: string;
}

/** The report's machine-readable part. */
export function reportData(x: ReportInput): LabReportData {
  const { passed, total } = passCount(x.sheet, x.progress);
  const predictions: LabReportData['predictions'] = [];
  x.sheet.steps.forEach((s, i) => {
    if (s.kind === 'predict') predictions.push({ question: s.question, answer: x.progress?.predictions[String(i)] ?? '', ...(s.answer !== undefined ? { expected: s.answer } : {}) });
  });
  const checks = x.progress?.run ? Object.values(x.progress.run.checks).flat() : [];
  return {
    format: LAB_REPORT_FORMAT,
    student: x.student,
    sheetId: x.sheet.id,
    claim: x.sheet.claim,
    title: x.sheet.title,
    exportedAt: x.exportedAt,
    appVersion: x.appVersion,
    passed,
    total,
    ran: x.progress?.run !== undefined,
    predictions,
    checks,
  };
}

/** The whole report as one HTML file. */
export function reportHtml(x: ReportInput): string {
  const data = reportData(x);
  const steps = x.sheet.steps
    .map((s, i) => {
      let body: string;
      switch (s.kind) {
        case 'read':
          body = `<blockquote>${esc(s.quote)}</blockquote><p class="src">— ${esc(s.source)}</p>`;
          break;
        case 'setup':
          body = `<p>Preset <code>${esc(s.preset)}</code>${s.note ? `: ${esc(s.note)}` : ''}</p>`;
          break;
        case 'predict': {
          const a = x.progress?.predictions[String(i)];
          body = `<p>${esc(s.question)}</p><p class="answer">Prediction: ${a ? `<strong>${esc(a)}</strong>` : '<em>none recorded</em>'}${s.answer !== undefined ? ` · expected: ${esc(s.answer)}` : ''}</p>`;
          break;
        }
        case 'run':
          body = x.progress?.run ? `<p>Run at ${esc(x.progress.run.at)}${x.progress.run.runId ? ` (History #${x.progress.run.runId})` : ''}.</p>${chartSvg(x.progress.run.chart)}` : '<p><em>Not run.</em></p>';
          break;
        case 'check': {
          const got = x.progress?.run?.checks[String(i)];
          const rows = s.expect
            .map((e, j) => {
              const c = got?.[j];
              const verdict = !c ? '<td>—</td>' : c.pass ? '<td class="pass">✓ pass</td>' : '<td class="fail">✗ fail</td>';
              const counters = (c?.counters ?? []).map((k) => `<code>${esc(k.path)}</code> = ${esc(fmtValue(k.value))}`).join('<br>');
              return `<tr><td><code>${esc(e.path)}</code></td><td>${esc(c?.expected ?? `${e.op} ${JSON.stringify(e.value)}`)}</td><td class="num">${c ? esc(fmtValue(c.observed)) : '—'}${c?.problem ? `<br><small>${esc(c.problem)}</small>` : ''}</td>${verdict}<td>${esc(e.explain)}${counters ? `<br><small>${counters}</small>` : ''}</td></tr>`;
            })
            .join('');
          body = `<table><thead><tr><th>Result</th><th>Expected</th><th>Observed</th><th></th><th>Why (counters)</th></tr></thead><tbody>${rows}</tbody></table>`;
          break;
        }
      }
      return `<li><h3>${esc(s.kind[0]!.toUpperCase() + s.kind.slice(1))}</h3>${body}</li>`;
    })
    .join('\n');
  // "<" in the JSON is escaped so no text can close the script element early.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`${x.sheet.claim} · ${x.sheet.title} · ${x.student}`)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #111; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; } h3 { font-size: 1rem; margin: 0 0 .3rem; }
.meta { color: #555; } .score { font-size: 1.1rem; font-weight: 600; }
ol > li { margin: 0 0 1rem; padding: .6rem .8rem; border: 1px solid #ccc; border-radius: 4px; break-inside: avoid; }
blockquote { margin: 0; padding-left: .8rem; border-left: 3px solid #999; font-style: italic; } .src { color: #555; margin: .2rem 0 0; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #ccc; padding: .25rem .4rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } .pass { color: #1d6b3a; font-weight: 600; } .fail { color: #a11; font-weight: 600; }
code { font-family: ui-monospace, monospace; font-size: .9em; } svg { max-width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; font-size: 11pt; } ol > li { border-color: #999; } a { color: inherit; } @page { margin: 15mm; } }
</style></head>
<body>
<h1>${esc(x.sheet.claim)} · ${esc(x.sheet.title)}</h1>
<p class="meta">Student: <strong>${esc(x.student)}</strong> · sheet <code>${esc(x.sheet.id)}</code> · exported ${esc(x.exportedAt)} · Hyperlab ${esc(x.appVersion)}</p>
<p class="score">${data.ran ? `${data.passed} of ${data.total} checks passed` : 'Not run yet'}</p>
<ol>
${steps}
</ol>
<script type="application/json" id="${LAB_REPORT_ELEMENT_ID}">${json}</script>
</body></html>
`;
}

/** Reads the machine-readable part of an exported report; the message says what is wrong. */
export function parseLabReport(html: string): { ok: true; data: LabReportData } | { ok: false; message: string } {
  const m = new RegExp(`<script type="application/json" id="${LAB_REPORT_ELEMENT_ID}">([\\s\\S]*?)</script>`).exec(html);
  if (!m) return { ok: false, message: 'not a Hyperlab lab report (no embedded report data)' };
  let d: unknown;
  try {
    d = JSON.parse(m[1]!);
  } catch (e) {
    return { ok: false, message: `the embedded report data is not JSON: ${(e as Error).message}` };
  }
  const r = d as Partial<LabReportData> | null;
  if (!r || typeof r !== 'object' || r.format !== LAB_REPORT_FORMAT) return { ok: false, message: `the embedded data is not of format ${LAB_REPORT_FORMAT}` };
  if (typeof r.student !== 'string' || typeof r.sheetId !== 'string' || typeof r.passed !== 'number' || typeof r.total !== 'number') return { ok: false, message: 'the embedded report data lacks student, sheetId, passed or total' };
  if (!(CLAIMS as readonly string[]).includes(r.claim ?? '')) return { ok: false, message: `the embedded report data has claim "${String(r.claim)}", not C1…C9` };
  return { ok: true, data: r as LabReportData };
}

export interface LabSummary {
  students: string[];
  /** Sheets seen, ordered by claim then id. */
  sheets: { sheetId: string; claim: string; title: string }[];
  /** cells[student][sheetId]: the latest report's score (by exportedAt). */
  cells: Record<string, Record<string, { passed: number; total: number; ran: boolean }>>;
}

/** The teacher's table: students × sheets with pass counts; a later export of the same pair replaces an earlier one. */
export function summarizeReports(reports: readonly LabReportData[]): LabSummary {
  const latest = new Map<string, LabReportData>();
  for (const r of reports) {
    const k = JSON.stringify([r.student, r.sheetId]);
    const prev = latest.get(k);
    if (!prev || prev.exportedAt <= r.exportedAt) latest.set(k, r);
  }
  const sheets = new Map<string, LabSummary['sheets'][number]>();
  const cells: LabSummary['cells'] = {};
  for (const r of latest.values()) {
    sheets.set(r.sheetId, { sheetId: r.sheetId, claim: r.claim, title: r.title });
    (cells[r.student] ??= {})[r.sheetId] = { passed: r.passed, total: r.total, ran: r.ran };
  }
  return {
    students: Object.keys(cells).sort((a, b) => a.localeCompare(b)),
    sheets: [...sheets.values()].sort((a, b) => a.claim.localeCompare(b.claim) || a.sheetId.localeCompare(b.sheetId)),
    cells,
  };
}
