/**
 * The Labs view in browser mode, as a student uses it: types a name, and for every sheet C1…C9
 * loads the preset, records the predictions (the sheet's own answer where it gives one, a number
 * otherwise), runs it in the real worker and reads each check's verdict. A screenshot per sheet.
 * Then a reload keeps the progress (from SQLite through the server), predictions stay locked, and a
 * sheet exported as an HTML report loads into the teacher summary with its pass count.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { BUILTIN_SHEETS } from '../../core/api/labSheets.js';
import { passCount } from '../../core/api/labs.js';
import { parseLabReport } from '../../core/api/labReport.js';
import { freshDataDir, openBrowser, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

const STUDENT = 'Ada Lovelace';
/** The free-text answer a student gives: C7's question asks for the nested walk's references. */
const FREE_TEXT: Record<string, string> = { C1: 'none', C7: '24' };

async function openLabs(page: Page): Promise<void> {
  await page.locator('nav [data-view="labs"]').click();
  await expect.poll(() => page.locator('nav [data-view="labs"]').getAttribute('aria-current')).toBe('page');
}

describe('Labs view: a student completes every sheet', () => {
  let server: RunningServer;
  let b: Browser;
  let dataDir: string;

  beforeAll(async () => {
    requireBuild();
    dataDir = freshDataDir('labs');
    server = await startServer(dataDir);
    b = await openBrowser(server.url, { width: 1366, height: 1000 });
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('completes C1…C9 end to end, keeps progress over a reload, and exports a report the teacher summary reads', { timeout: 900_000 }, async () => {
    const { page } = b;
    await page.getByTestId('run').waitFor();
    await openLabs(page);
    const labs = page.locator('section[aria-label="Labs"]');
    await labs.getByLabel('Student name').fill(STUDENT);

    expect(BUILTIN_SHEETS.map((s) => s.claim)).toEqual(['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'C8', 'C9']);
    for (const sheet of BUILTIN_SHEETS) {
      await labs.locator(`button[data-sheet="${sheet.id}"]`).click();
      await expect.poll(() => labs.locator('#sheet-title').textContent()).toContain(sheet.title);
      // The quote of the seed is on the sheet.
      const read = sheet.steps.find((s) => s.kind === 'read')!;
      expect(await labs.locator('blockquote').first().textContent()).toBe(read.kind === 'read' ? read.quote : '');
      const run = labs.getByRole('button', { name: 'Run', exact: true });
      // Nothing runs before the preset is loaded and the predictions are in.
      expect(await run.isDisabled()).toBe(true);
      await labs.getByRole('button', { name: 'Load preset' }).click();
      await sheet.steps.reduce(async (prev, s, i) => {
        await prev;
        if (s.kind !== 'predict') return;
        const step = labs.locator(`li[data-step="${i}"]`);
        if (s.choices) await step.getByRole('radio', { name: s.answer ?? s.choices[0]!, exact: true }).check();
        else {
          await step.getByRole('textbox').fill(FREE_TEXT[sheet.claim] ?? '1');
          await step.getByRole('textbox').press('Tab');
        }
      }, Promise.resolve());
      await expect.poll(() => run.isDisabled()).toBe(false);
      await run.click();
      const { total } = passCount(sheet, undefined);
      // Every expectation of a built-in sheet holds on its preset: the score shows total/total.
      await expect.poll(() => labs.locator(`[data-score="${sheet.id}"]`).textContent(), { timeout: 240_000, interval: 500 }).toBe(`${total}/${total} ✓`);
      expect(await labs.locator('td .ok').count()).toBe(total);
      // The run is in History too, and the sheet says which entry it is.
      await expect.poll(() => labs.locator('li[data-kind="run"]').textContent()).toMatch(/History #\d+/);
      expect(await labs.locator('td .bad').count()).toBe(0);
      // Predictions are locked now.
      const firstPredict = sheet.steps.findIndex((s) => s.kind === 'predict');
      const inputs = labs.locator(`li[data-step="${firstPredict}"] input`);
      expect(await inputs.first().isDisabled()).toBe(true);
      await labs.locator('li[data-kind="check"]').last().scrollIntoViewIfNeeded();
      await shot(page, `labs-${sheet.claim}`);
    }
    expect(b.errors).toEqual([]);

    // A reload: the name comes back (local), the progress from the server's database.
    await page.reload();
    await page.getByTestId('run').waitFor();
    await openLabs(page);
    expect(await labs.getByLabel('Student name').inputValue()).toBe(STUDENT);
    for (const sheet of BUILTIN_SHEETS) {
      const { total } = passCount(sheet, undefined);
      await expect.poll(() => labs.locator(`[data-score="${sheet.id}"]`).textContent()).toBe(`${total}/${total} ✓`);
    }
    const c7 = BUILTIN_SHEETS.find((s) => s.claim === 'C7')!;
    await labs.locator(`button[data-sheet="${c7.id}"]`).click();
    const textStep = c7.steps.findIndex((s) => s.kind === 'predict');
    expect(await labs.locator(`li[data-step="${textStep}"] input`).inputValue()).toBe('24');
    expect(await labs.locator(`li[data-step="${textStep}"] input`).isDisabled()).toBe(true);

    // Export the C7 report (a download in the browser) and check what it carries.
    const dl = page.waitForEvent('download');
    await labs.getByRole('button', { name: 'Export report' }).click();
    const file = await dl;
    expect(file.suggestedFilename()).toBe(`Ada-Lovelace-${c7.id}.html`);
    const html = readFileSync(await file.path()).toString('utf8');
    const parsed = parseLabReport(html);
    expect(parsed.ok && parsed.data).toMatchObject({ student: STUDENT, sheetId: c7.id, claim: 'C7', passed: 3, total: 3, ran: true, predictions: [{ answer: '24' }] });
    expect(html).toContain('<svg');

    // The teacher opens it (and a file that is not a report) in the summary.
    const dir = mkdtempSync(join(tmpdir(), 'hyperlab-reports-'));
    writeFileSync(join(dir, 'ada-c7.html'), html);
    writeFileSync(join(dir, 'notes.html'), '<html><body>notes</body></html>');
    await labs.getByLabel('Open report files').setInputFiles([join(dir, 'ada-c7.html'), join(dir, 'notes.html')]);
    const summary = labs.locator('section[aria-label="Teacher summary"]');
    await summary.waitFor();
    expect(await summary.locator('tbody th').allTextContents()).toEqual([STUDENT]);
    expect(await summary.locator('thead th').allTextContents()).toEqual(['Student', 'C7']);
    expect(await summary.locator('tbody td').allTextContents()).toEqual(['3/3']);
    expect(await summary.locator('.err li').allTextContents()).toEqual(['notes.html: not a Hyperlab lab report (no embedded report data)']);
    await summary.scrollIntoViewIfNeeded();
    await shot(page, 'labs-teacher-summary');
    expect(b.errors).toEqual([]);
  });
});
