import { describe, expect, it } from 'vitest';
import { LineEditor } from '../../core/toolstack/lineEditor.js';

function editor() {
  const rec = { out: '', lines: [] as string[], interrupts: 0 };
  const e = new LineEditor({
    write: (s) => void (rec.out += s),
    line: (l) => {
      rec.lines.push(l);
      e.prompt('$ ');
    },
    interrupt: () => {
      rec.interrupts++;
      e.prompt('$ ');
    },
  });
  e.prompt('$ ');
  return { e, rec };
}

const UP = '\x1b[A';
const DOWN = '\x1b[B';
const LEFT = '\x1b[D';

describe('line editing', () => {
  it('echoes what is typed and ends the line on Enter with \\r\\n', () => {
    const { e, rec } = editor();
    e.feed('ls -l\r');
    expect(rec.lines).toEqual(['ls -l']);
    expect(rec.out).toBe('$ ls -l\r\n$ ');
  });

  it('backspace deletes the character before the cursor (and does nothing at the start)', () => {
    const { e, rec } = editor();
    e.feed('\x7fabx\x7fc\r');
    expect(rec.lines).toEqual(['abc']);
    expect(rec.out).toBe('$ abx\b \bc\r\n$ ');
    e.feed('ab\bc\r'); // Ctrl-H too
    expect(rec.lines[1]).toBe('ac');
  });

  it('up and down walk the history and come back to the line being written', () => {
    const { e, rec } = editor();
    e.feed('one\rtwo\rtwo\r');
    e.feed('dra');
    e.feed(UP);
    expect(e.text).toBe('two');
    e.feed(UP);
    expect(e.text).toBe('one'); // the repeated "two" was kept once
    e.feed(UP);
    expect(e.text).toBe('one');
    e.feed(DOWN);
    expect(e.text).toBe('two');
    e.feed(DOWN);
    expect(e.text).toBe('dra');
    e.feed(UP + UP + '!\r');
    expect(rec.lines.at(-1)).toBe('one!');
    expect(e.past).toEqual(['one', 'two', 'one!']);
    expect(rec.out).toContain('\r\x1b[K$ two');
  });

  it('left/right move in the line; typing inserts at the cursor', () => {
    const { e, rec } = editor();
    e.feed('ac' + LEFT + 'b\r');
    expect(rec.lines).toEqual(['abc']);
    e.feed('xy\x1b[H>' + '\x1b[F<' + '\x1b[D\x1b[3~\r');
    expect(rec.lines[1]).toBe('>xy');
  });

  it('Ctrl-C shows ^C, drops the line and interrupts', () => {
    const { e, rec } = editor();
    e.feed('half a comm\x03');
    expect(rec.interrupts).toBe(1);
    expect(rec.lines).toEqual([]);
    expect(rec.out.endsWith('half a comm^C\r\n$ ')).toBe(true);
    e.feed('ok\r');
    expect(rec.lines).toEqual(['ok']);
  });

  it('other escape sequences are read to their end and ignored, even split across chunks', () => {
    const { e, rec } = editor();
    e.feed('a\x1b[15~b\x1bOPc\x1b[1;5Ad\x1b[Ie\x1bxf');
    e.feed('\x1b');
    e.feed('[');
    e.feed('24~g\r');
    expect(rec.lines).toEqual(['abcdefg']);
  });

  it('pasted text with \\r\\n or \\n gives one line per line', () => {
    const { e, rec } = editor();
    e.feed('one\r\ntwo\nthree\r');
    expect(rec.lines).toEqual(['one', 'two', 'three']);
  });

  it('Ctrl-U kills the line; control characters are not inserted', () => {
    const { e, rec } = editor();
    e.feed('junk\x15ok\x07\t\r');
    expect(rec.lines).toEqual(['ok']);
  });

  it('while suspended, keystrokes are type-ahead: echoed as typed, read by the next prompt', () => {
    const { e, rec } = editor();
    e.feed('run\r');
    e.suspend();
    const before = rec.out;
    // Echoed at once, as a tty in canonical mode does; Backspace erases on the line being typed.
    e.feed('pz\x7fs\r' + 'fre');
    expect(rec.out.slice(before.length)).toBe('pz\b \bs\r\nfre');
    expect(rec.lines).toEqual(['run']);
    expect(e.typeAhead).toBe('ps\rfre');
    // The prompt reads it: `ps` runs (the test host prompts again), `fre` is on the new line.
    rec.out = '';
    e.prompt('$ ');
    expect(rec.lines).toEqual(['run', 'ps']);
    expect(rec.out).toBe('$ ps\r\n$ fre');
    expect(e.text).toBe('fre');
    expect(e.typeAhead).toBe('');
  });

  it('type-ahead keeps arrow keys whole and unechoed; Ctrl-U erases its line; Ctrl-C discards it all', () => {
    const { e, rec } = editor();
    e.feed('one\r');
    e.suspend();
    rec.out = '';
    e.feed('junk\x15' + UP);
    expect(rec.out).toBe('junk' + '\b \b'.repeat(4));
    rec.out = '';
    e.prompt('$ ');
    // Up recalled "one" from history at the prompt.
    expect(e.text).toBe('one');
    e.feed('\r');
    e.suspend();
    e.feed('ls\r');
    e.feed('\x03');
    expect(rec.interrupts).toBe(1);
    expect(e.typeAhead).toBe('');
    expect(rec.lines).toEqual(['one', 'one']);
  });

  it('a message printed while a line is typed goes above it, and the line is redrawn', () => {
    const { e, rec } = editor();
    e.feed('hal');
    rec.out = '';
    e.interject('[    1.000000] hello\n');
    expect(rec.out).toBe('\r\x1b[K[    1.000000] hello\r\n$ hal');
  });
});
