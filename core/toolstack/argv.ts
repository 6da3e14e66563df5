/**
 * Splits a command line into words the way a POSIX shell does for the simple cases: blanks
 * separate words, single quotes keep everything, double quotes keep everything but `\"` and `\\`,
 * a backslash outside quotes escapes the next character. Each word keeps its raw text too,
 * because `xl create key="value"` hands xl.cfg syntax, quotes included, to the config parser.
 */

export interface Word {
  /** After quote removal. */
  text: string;
  /** Exactly as typed. */
  raw: string;
}

export type SplitResult = { ok: true; words: Word[] } | { ok: false; message: string };

export function splitWords(line: string): SplitResult {
  const words: Word[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= n) break;
    const start = i;
    let text = '';
    while (i < n && line[i] !== ' ' && line[i] !== '\t') {
      const c = line[i]!;
      if (c === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) return { ok: false, message: "unexpected EOF while looking for matching `''" };
        text += line.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        i++;
        let closed = false;
        while (i < n) {
          const d = line[i]!;
          if (d === '"') {
            closed = true;
            i++;
            break;
          }
          if (d === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
            text += line[i + 1];
            i += 2;
            continue;
          }
          text += d;
          i++;
        }
        if (!closed) return { ok: false, message: 'unexpected EOF while looking for matching `"\'' };
      } else if (c === '\\' && i + 1 < n) {
        text += line[i + 1];
        i += 2;
      } else {
        text += c;
        i++;
      }
    }
    words.push({ text, raw: line.slice(start, i) });
  }
  return { ok: true, words };
}
