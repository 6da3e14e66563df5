/**
 * Where a JSON.parse error is: V8 says "… at position N" (and, lately, "(line L column C)"), or
 * nothing for an early end; turned into a line, a column and the offending line with a caret.
 */
export interface JsonError {
  message: string;
  line: number;
  column: number;
  /** The line the error is on (trimmed to 120 characters around the column). */
  excerpt: string;
  /** Caret offset within the excerpt. */
  caret: number;
}

export function jsonErrorAt(text: string, message: string): JsonError {
  let pos = text.length;
  const lc = /line (\d+) column (\d+)/.exec(message);
  const p = /position (\d+)/.exec(message);
  if (lc) {
    const lines = text.split('\n');
    const line = Math.min(Number(lc[1]), lines.length);
    pos = lines.slice(0, line - 1).reduce((a, l) => a + l.length + 1, 0) + Number(lc[2]) - 1;
  } else if (p) {
    pos = Number(p[1]);
  }
  pos = Math.max(0, Math.min(pos, text.length));
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = text.indexOf('\n', pos) === -1 ? text.length : text.indexOf('\n', pos);
  const column = pos - lineStart + 1;
  const from = Math.max(lineStart, pos - 60);
  const to = Math.min(lineEnd, from + 120);
  const clean = message.replace(/\s*\(line \d+ column \d+\)/, '');
  return { message: clean, line, column, excerpt: text.slice(from, to), caret: pos - from };
}
