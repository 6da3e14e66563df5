/**
 * Where a JSON text stops being JSON (shared by the CLI, parseScenarioText and the GUI's JSON editor), as line and column. JSON.parse's messages give a character
 * offset at best ("… at position 44") and for an unexpected token under Node 20 none at all, with
 * a multi-line copy of the text instead; so when JSON.parse has failed, this scans the text once
 * more, following RFC 8259's grammar, to the first offending character. Pure (no Node).
 */

export interface JsonSyntaxError {
  /** 1-based line; lines end at \n. */
  line: number;
  /** 1-based column, in UTF-16 code units (characters, outside astral planes). */
  column: number;
  /** 0-based offset into the text. */
  offset: number;
  reason: string;
}

class Stop {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {}
}

/** The first syntax error in `text`, or undefined if it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let p = 0;
  const what = (at: number) => (at >= text.length ? 'end of file' : JSON.stringify(text[at]));
  const fail = (reason: string, at = p): never => {
    throw new Stop(at, reason);
  };
  const ws = () => {
    while (p < text.length && (text[p] === ' ' || text[p] === '\t' || text[p] === '\n' || text[p] === '\r')) p++;
  };
  const string = () => {
    const start = p;
    p++; // the opening quote
    for (;;) {
      if (p >= text.length) fail('unterminated string (no closing ")', start);
      const ch = text.charCodeAt(p);
      if (ch === 0x22) {
        p++;
        return;
      }
      if (ch < 0x20) fail('control character (a line break or tab?) inside a string; write it as \\n or \\t');
      if (ch === 0x5c) {
        const e = text[p + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          p += 2;
        } else if (e === 'u') {
          p += 2;
          for (let n = 0; n < 4; n++, p++) {
            if (!/[0-9a-fA-F]/.test(text[p] ?? '')) fail(`bad \\u escape in a string: expected 4 hex digits, found ${what(p)}`);
          }
        } else {
          // At the character after the backslash, as JSON.parse reports it.
          fail(`bad escape ${JSON.stringify(text.slice(p, p + 2))} in a string (a backslash is written \\\\)`, p + 1);
        }
      } else {
        p++;
      }
    }
  };
  const isDigit = (at: number) => at < text.length && text[at]! >= '0' && text[at]! <= '9';
  const digits = (after: string) => {
    if (!isDigit(p)) fail(`bad number: expected a digit after ${after}, found ${what(p)}`);
    while (isDigit(p)) p++;
  };
  const number = () => {
    if (text[p] === '-') p++;
    if (text[p] === '0') p++;
    else digits(p > 0 && text[p - 1] === '-' ? "'-'" : 'the start');
    if (text[p] === '.') {
      p++;
      digits("'.'");
    }
    if (text[p] === 'e' || text[p] === 'E') {
      p++;
      if (text[p] === '+' || text[p] === '-') p++;
      digits('the exponent');
    }
    if (p < text.length && /[0-9.eE+-]/.test(text[p]!)) fail(`bad number: unexpected ${what(p)}`);
  };
  const value = (): void => {
    ws();
    const ch = text[p];
    if (ch === '{') {
      p++;
      ws();
      if (text[p] === '}') {
        p++;
        return;
      }
      for (;;) {
        ws();
        if (text[p] !== '"') fail(`expected a double-quoted property name, found ${what(p)}${text[p] === '}' ? ' (a trailing comma?)' : ''}`);
        string();
        ws();
        if (text[p] !== ':') fail(`expected ':' after a property name, found ${what(p)}`);
        p++;
        value();
        ws();
        if (text[p] === ',') {
          p++;
          continue;
        }
        if (text[p] === '}') {
          p++;
          return;
        }
        fail(`expected ',' or '}' after a property value, found ${what(p)}`);
      }
    }
    if (ch === '[') {
      p++;
      ws();
      if (text[p] === ']') {
        p++;
        return;
      }
      for (;;) {
        ws();
        if (text[p] === ']') fail(`expected a value, found ']' (a trailing comma?)`);
        value();
        ws();
        if (text[p] === ',') {
          p++;
          continue;
        }
        if (text[p] === ']') {
          p++;
          return;
        }
        fail(`expected ',' or ']' after an array element, found ${what(p)}`);
      }
    }
    if (ch === '"') return string();
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return number();
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, p)) {
        p += lit.length;
        return;
      }
    }
    if (ch === '\uFEFF' && p === 0) fail('the file starts with a byte-order mark; save it as UTF-8 without BOM');
    const word = /^[A-Za-z_]\w*/.exec(text.slice(p, p + 40));
    fail(`expected a value, found ${word ? JSON.stringify(word[0]) : what(p)}${word ? ' (strings need double quotes)' : ''}`);
  };
  try {
    value();
    ws();
    if (p < text.length) fail(`unexpected ${what(p)} after the end of the JSON document`);
    return undefined;
  } catch (e) {
    // Nesting deeper than the stack: leave it to describeJsonError's fallback.
    if (e instanceof RangeError) return undefined;
    if (!(e instanceof Stop)) throw e;
    return { ...lineColumn(text, e.offset), offset: e.offset, reason: e.reason };
  }
}

/** 1-based line and column of a 0-based offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * One line saying what is wrong with a text JSON.parse refused, and where:
 * `not valid JSON at line 3, column 1: expected a double-quoted property name, found "}" (…)`.
 */
export function describeJsonError(text: string, parseError: Error): string {
  const e = findJsonSyntaxError(text);
  if (e) return `not valid JSON at line ${e.line}, column ${e.column}: ${e.reason}`;
  // The scanner found nothing JSON.parse did not like (it should not happen): say what JSON.parse
  // said, on one line, with its offset turned into line and column if it gave one.
  const pos = /at position (\d+)/.exec(parseError.message);
  const where = pos ? lineColumn(text, Number(pos[1])) : undefined;
  const msg = parseError.message.replace(/\s+/g, ' ');
  return where ? `not valid JSON at line ${where.line}, column ${where.column}: ${msg}` : `not valid JSON: ${msg}`;
}
