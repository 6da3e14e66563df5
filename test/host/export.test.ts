import { describe, expect, it } from 'vitest';
import { csvField, exportFilename, RESULTS_CSV_COLUMNS, resultsCsv, sanitizeForFilename, toCsv } from '../../electron/host/export.js';

describe('CSV export (RFC 4180)', () => {
  it('quotes a field only when it holds a comma, a quote or a line break, doubling quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField(0.125)).toBe('0.125');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
  });

  it('ends every record with CRLF', () => {
    expect(toCsv([['a', 'b'], [1, 'x,y']])).toBe('a,b\r\n1,"x,y"\r\n');
  });

  it('writes the contract columns in order and leaves a missing field empty', () => {
    const csv = resultsCsv({ domains: [{ name: 'g1', mode: 'hap', ops: 3, cycles: { total: 10 } } as never] });
    const [header, row] = csv.split('\r\n');
    expect(header).toBe(RESULTS_CSV_COLUMNS.join(','));
    expect(row).toBe('g1,hap,3,10' + ','.repeat(RESULTS_CSV_COLUMNS.length - 4));
  });
});

describe('export file names', () => {
  it('are hyperlab-run-<id>-<scenario>.<ext> with the scenario made safe for any file system', () => {
    expect(exportFilename(7, 'walk-4k', 'csv')).toBe('hyperlab-run-7-walk-4k.csv');
    expect(exportFilename(8, '../../etc/passwd', 'json')).toBe('hyperlab-run-8-etc-passwd.json');
    expect(exportFilename(9, 'C7: 2D walk, 4K/4K', 'json')).toBe('hyperlab-run-9-C7-2D-walk-4K-4K.json');
    expect(exportFilename(10, 'Ünïcode…', 'csv')).toBe('hyperlab-run-10-Unicode.csv');
  });

  it('never come out empty, hidden, or longer than 64 characters for the scenario part', () => {
    expect(sanitizeForFilename('///')).toBe('run');
    expect(sanitizeForFilename('.hidden')).toBe('hidden');
    expect(sanitizeForFilename('x'.repeat(200))).toHaveLength(64);
  });
});
