/**
 * Where a scenario file stops being JSON. Positions in the examples are counted by hand; the
 * property tests hold the scanner to JSON.parse itself: it must accept exactly what JSON.parse
 * accepts, and where JSON.parse names a position, point at the same one (but for two cases where
 * it deliberately points earlier, said below).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeJsonError, findJsonSyntaxError, lineColumn } from '../../core/api/jsonWhere.js';

describe('findJsonSyntaxError', () => {
  it.each([
    // text, line, column, reason
    ['{"name":', 1, 9, /expected a value, found end of file/],
    ['{\n  "a": 1,\n}', 3, 1, /double-quoted property name, found "}" \(a trailing comma\?\)/],
    ['[1, 2,]', 1, 7, /found '?\]'? \(a trailing comma\?\)/],
    ['[1 2]', 1, 4, /expected ',' or '\]' after an array element, found "2"/],
    ['{"a" 1}', 1, 6, /expected ':' after a property name/],
    ['{\r\n  "a": tru\r\n}', 2, 8, /found "tru" \(strings need double quotes\)/],
    ['{"a": "x\ty"}', 1, 9, /control character/],
    ['{"a": "\\q"}', 1, 9, /bad escape "\\\\q"/],
    ['{"a": "\\u12x4"}', 1, 12, /bad \\u escape/],
    ['{"a": "abc', 1, 7, /unterminated string/],
    ['{"a": 01}', 1, 8, /bad number/],
    ['{"a": -}', 1, 8, /bad number: expected a digit after '-', found "}"/],
    ['{}\n\n  x', 3, 3, /unexpected "x" after the end of the JSON document/],
    ['\uFEFF{}', 1, 1, /byte-order mark/],
    ["{'a': 1}", 1, 2, /double-quoted property name, found "'"/],
    ['', 1, 1, /expected a value, found end of file/],
  ])('%j: line %i, column %i', (text, line, column, reason) => {
    expect(() => JSON.parse(text)).toThrow();
    const e = findJsonSyntaxError(text);
    expect(e).toMatchObject({ line, column });
    expect(e!.reason).toMatch(reason);
  });

  it('accepts what JSON.parse accepts', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2, '\t'), (v, indent) => {
        expect(findJsonSyntaxError(JSON.stringify(v, null, indent))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  // Texts near JSON: a valid document with one character changed, inserted or deleted.
  const nearJson = fc
    .tuple(fc.json(), fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom(...'{}[]:,"\\ \n0-.eE1tfnux\'\t'))
    .map(([text, at, op, ch]) => {
      const i = text.length === 0 ? 0 : at % text.length;
      if (op === 'delete') return text.slice(0, i) + text.slice(i + 1);
      if (op === 'insert') return text.slice(0, i) + ch + text.slice(i);
      return text.slice(0, i) + ch + text.slice(i + 1);
    });

  it('refuses exactly what JSON.parse refuses, at the position JSON.parse names when it names one', () => {
    fc.assert(
      fc.property(nearJson, (text) => {
        let error: Error | undefined;
        try {
          JSON.parse(text);
        } catch (e) {
          error = e as Error;
        }
        const found = findJsonSyntaxError(text);
        expect(found === undefined, text).toBe(error === undefined);
        const pos = error && /at position (\d+)/.exec(error.message);
        if (!pos) return;
        const at = Number(pos[1]);
        const why = `${text} — ${error!.message} — ${found!.reason}`;
        if (/^Unterminated string/.test(error!.message)) {
          // JSON.parse names the end of the text; the string's opening quote says more.
          expect(found!.reason, why).toMatch(/^unterminated string/);
          expect(text[found!.offset], why).toBe('"');
        } else if (/strings need double quotes/.test(found!.reason)) {
          // A bare word (`tru`, `t`): JSON.parse names its first letter that is not `true`'s;
          // the start of the word says more.
          expect(text.slice(found!.offset, at), why).toMatch(/^[A-Za-z_]\w*$/);
        } else {
          expect(found!.offset, why).toBe(at);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('lineColumn', () => {
  it('counts lines at \\n and columns from 1', () => {
    const text = 'ab\ncd\r\nef';
    expect(lineColumn(text, 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn(text, 2)).toEqual({ line: 1, column: 3 });
    expect(lineColumn(text, 3)).toEqual({ line: 2, column: 1 });
    expect(lineColumn(text, 7)).toEqual({ line: 3, column: 1 });
    expect(lineColumn(text, 9)).toEqual({ line: 3, column: 3 });
  });
});

describe('describeJsonError', () => {
  it('is one line with line and column, never the "position" JSON.parse gives', () => {
    const text = '{\n  "a": [1,\n  2,,]\n}';
    let err: Error | undefined;
    try {
      JSON.parse(text);
    } catch (e) {
      err = e as Error;
    }
    const msg = describeJsonError(text, err!);
    expect(msg).toBe('not valid JSON at line 3, column 5: expected a value, found ","');
    expect(msg).not.toMatch(/position|\n/);
  });
});
