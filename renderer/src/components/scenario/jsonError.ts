/**
 * Where a JSON syntax error is, for the JSON editor: the line, column and reason from the one
 * scanner the CLI and parseScenarioText use (core/api/jsonWhere.ts), with the offending line and a
 * caret under the character.
 */
import { findJsonSyntaxError, lineColumn } from '../../../../core/api/index.js';

export interface JsonError {
  message: string;
  line: number;
  column: number;
  /** The line the error is on (trimmed to 120 characters around the column). */
  excerpt: string;
  /** Caret offset within the excerpt. */
  caret: number;
}

/** The error in `text` that JSON.parse refused with `message` (used only if the scanner finds none). */
export function jsonErrorAt(text: string, message: string): JsonError {
  const found = findJsonSyntaxError(text);
  let pos = text.length;
  let reason = message.replace(/\s+/g, ' ');
  if (found) {
    pos = found.offset;
    reason = found.reason;
  } else {
    const p = /position (\d+)/.exec(message);
    if (p) pos = Number(p[1]);
  }
  pos = Math.max(0, Math.min(pos, text.length));
  const { line, column } = lineColumn(text, pos);
  const lineStart = pos - column + 1;
  const lineEnd = text.indexOf('\n', pos) === -1 ? text.length : text.indexOf('\n', pos);
  const from = Math.max(lineStart, pos - 60);
  const to = Math.min(lineEnd, from + 120);
  return { message: reason, line, column, excerpt: text.slice(from, to), caret: pos - from };
}
