/**
 * The syntax of xl.cfg (xl.cfg(5), libxlu's cfg grammar): `key = value` statements ended by a
 * newline or `;`, values that are numbers, strings in double or single quotes, or lists
 * `[ "a", "b" ]` that may span lines, `#` comments and blank lines. What the keys mean is
 * xlcfg.ts's business; this file only turns text into assignments, each with its line.
 */

export type XlValue =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'list'; items: XlValue[] };

export interface XlAssignment {
  key: string;
  value: XlValue;
  line: number;
}

export interface XlProblem {
  line: number;
  /** The key the problem is about, or `(syntax)` before any key was read. */
  path: string;
  message: string;
}

type Tok =
  | { t: 'ident'; text: string; line: number }
  | { t: 'string'; value: string; line: number }
  | { t: 'number'; value: number; text: string; line: number }
  | { t: 'punct'; text: '=' | '[' | ']' | ',' | ';'; line: number }
  | { t: 'nl'; line: number }
  | { t: 'bad'; text: string; message: string; line: number }
  | { t: 'eof'; line: number };

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\n') {
      out.push({ t: 'nl', line });
      line++;
      i++;
    } else if (ch === ' ' || ch === '\t' || ch === '\r') i++;
    else if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '"' || ch === "'") {
      const start = line;
      let value = '';
      let j = i + 1;
      let closed = false;
      while (j < text.length) {
        const c = text[j]!;
        if (c === ch) {
          closed = true;
          break;
        }
        if (c === '\n') break;
        if (c === '\\' && j + 1 < text.length && text[j + 1] !== '\n') {
          const e = text[j + 1]!;
          value += ESCAPES[e] ?? e;
          j += 2;
          continue;
        }
        value += c;
        j++;
      }
      if (closed) out.push({ t: 'string', value, line: start });
      else out.push({ t: 'bad', text: text.slice(i, j), message: `unterminated string (no closing ${ch} on this line)`, line: start });
      i = closed ? j + 1 : j;
    } else if (/[0-9+-]/.test(ch) || (ch === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^([+-]?(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][+-]?\d+)?|\.\d+))(?![A-Za-z0-9_.])/.exec(text.slice(i));
      if (m) {
        out.push({ t: 'number', value: Number(m[1]!.replace(/^\+/, '')), text: m[1]!, line });
        i += m[1]!.length;
      } else {
        const w = /^[^\s,\]#;]+/.exec(text.slice(i))![0];
        out.push({ t: 'bad', text: w, message: `"${w}" is not a number`, line });
        i += w.length;
      }
    } else if (/[A-Za-z_]/.test(ch)) {
      const w = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))![0];
      out.push({ t: 'ident', text: w, line });
      i += w.length;
    } else if (ch === '=' || ch === '[' || ch === ']' || ch === ',' || ch === ';') {
      out.push({ t: 'punct', text: ch, line });
      i++;
    } else {
      out.push({ t: 'bad', text: ch, message: `unexpected character "${ch}"`, line });
      i++;
    }
  }
  out.push({ t: 'eof', line });
  return out;
}

function describeTok(t: Tok): string {
  switch (t.t) {
    case 'ident':
      return `"${t.text}"`;
    case 'string':
      return 'a string';
    case 'number':
      return `the number ${t.text}`;
    case 'punct':
      return `"${t.text}"`;
    case 'nl':
      return 'the end of the line';
    case 'bad':
      return `"${t.text}"`;
    case 'eof':
      return 'the end of the file';
  }
}

class SyntaxFail extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

export function parseXlSyntax(text: string): { assignments: XlAssignment[]; problems: XlProblem[] } {
  const toks = tokenize(text);
  const assignments: XlAssignment[] = [];
  const problems: XlProblem[] = [];
  let p = 0;
  const peek = () => toks[p]!;
  const skipToStatementEnd = () => {
    let depth = 0;
    while (peek().t !== 'eof') {
      const t = peek();
      if (t.t === 'punct' && t.text === '[') depth++;
      if (t.t === 'punct' && t.text === ']') depth = Math.max(0, depth - 1);
      if (depth === 0 && (t.t === 'nl' || (t.t === 'punct' && t.text === ';'))) break;
      p++;
    }
  };
  const skipNewlines = () => {
    while (peek().t === 'nl') p++;
  };
  const value = (): XlValue => {
    const t = peek();
    if (t.t === 'string') {
      p++;
      return { type: 'string', value: t.value };
    }
    if (t.t === 'number') {
      p++;
      return { type: 'number', value: t.value };
    }
    if (t.t === 'punct' && t.text === '[') {
      p++;
      const items: XlValue[] = [];
      skipNewlines();
      while (!(peek().t === 'punct' && (peek() as { text: string }).text === ']')) {
        items.push(value());
        skipNewlines();
        const sep = peek();
        if (sep.t === 'punct' && sep.text === ',') {
          p++;
          skipNewlines();
        } else if (!(sep.t === 'punct' && sep.text === ']')) {
          throw new SyntaxFail(sep.line, `expected "," or "]" in the list, found ${describeTok(sep)}`);
        }
      }
      p++;
      return { type: 'list', items };
    }
    if (t.t === 'bad') throw new SyntaxFail(t.line, t.message);
    if (t.t === 'ident') throw new SyntaxFail(t.line, `values are numbers, quoted strings or [lists]: write "${t.text}" in quotes`);
    throw new SyntaxFail(t.line, `expected a value, found ${describeTok(t)}`);
  };
  for (;;) {
    while (peek().t === 'nl' || (peek().t === 'punct' && (peek() as { text: string }).text === ';')) p++;
    const t = peek();
    if (t.t === 'eof') break;
    let key = '(syntax)';
    try {
      if (t.t !== 'ident') throw new SyntaxFail(t.line, `expected a key (a name such as memory), found ${describeTok(t)}`);
      key = t.text;
      p++;
      const eq = peek();
      if (!(eq.t === 'punct' && eq.text === '=')) throw new SyntaxFail(eq.line, `expected "=" after ${key}, found ${describeTok(eq)}`);
      p++;
      const v = value();
      const end = peek();
      if (!(end.t === 'nl' || end.t === 'eof' || (end.t === 'punct' && end.text === ';'))) {
        throw new SyntaxFail(end.line, `expected the end of the line after the value of ${key}, found ${describeTok(end)}`);
      }
      assignments.push({ key, value: v, line: t.line });
    } catch (e) {
      if (!(e instanceof SyntaxFail)) throw e;
      problems.push({ line: e.line, path: key, message: `syntax error: ${e.message}` });
      skipToStatementEnd();
    }
  }
  return { assignments, problems };
}

/** A value written back in xl.cfg syntax (double-quoted strings, escapes where needed). */
export function formatXlValue(v: XlValue): string {
  switch (v.type) {
    case 'number':
      return String(v.value);
    case 'string':
      return `"${v.value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r')}"`;
    case 'list':
      return `[ ${v.items.map(formatXlValue).join(', ')} ]`;
  }
}
