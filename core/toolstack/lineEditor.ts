/**
 * A readline-style line editor over raw xterm.js keystrokes: printable characters are inserted
 * and echoed, Enter ('\r', or '\n' in pasted text) ends the line, Backspace ('\x7f' or '\b')
 * deletes, Ctrl-C interrupts, Ctrl-U kills the line, Ctrl-L clears the screen, the arrow keys
 * move in the line (left/right, Home/End, Delete) and through history (up/down). Other escape
 * sequences (function keys, mouse reports, focus events) are read to their end and ignored.
 * Output uses '\r\n' line endings.
 *
 * While a foreground command runs (suspend() until the next prompt()), keystrokes are type-ahead,
 * as a terminal's line discipline keeps them: echoed as typed (Backspace and Ctrl-U erase on the
 * line being typed, Enter starts a new one), queued, and read by the next prompt as if typed
 * there — so `ps` typed while a workload runs is on screen at once and runs when the prompt
 * returns. Ctrl-C interrupts and discards the type-ahead (a tty flushes its input on SIGINT).
 */

export interface LineEditorHost {
  /** Raw terminal output (already '\r\n'). */
  write(data: string): void;
  /** A complete line was entered (already echoed, with its newline). */
  line(text: string): void;
  /** Ctrl-C. The editor has already shown "^C" and cleared its line. */
  interrupt(): void;
}

const ESC = '\x1b';
const HISTORY_MAX = 200;

type EscState = { kind: 'none' } | { kind: 'esc' } | { kind: 'csi'; params: string } | { kind: 'ss3' };

export class LineEditor {
  private buf = '';
  private cursor = 0;
  private promptText = '';
  /** True between prompt() and the end of the line: keystrokes are read. */
  private reading = false;
  private readonly history: string[] = [];
  /** Position in history while browsing (history.length = the line being written). */
  private histPos = 0;
  private draft = '';
  private esc: EscState = { kind: 'none' };
  private lastWasCr = false;
  /** Keystrokes typed while suspended, raw, for the next prompt. */
  private ahead = '';
  /** Where the type-ahead's escape sequence is (they are queued whole, not echoed). */
  private aheadEsc: 'none' | 'esc' | 'csi' | 'ss3' = 'none';
  /** The next prompt is reading the type-ahead: what it queues again was echoed already. */
  private replaying = false;

  constructor(private readonly host: LineEditorHost) {}

  get text(): string {
    return this.buf;
  }

  get active(): boolean {
    return this.reading;
  }

  /** Shows the prompt and starts reading a line: first the type-ahead, if any. */
  prompt(p: string): void {
    this.promptText = p;
    this.buf = '';
    this.cursor = 0;
    this.histPos = this.history.length;
    this.reading = true;
    this.host.write(p);
    if (this.ahead === '' || this.replaying) return;
    const q = this.ahead;
    this.ahead = '';
    this.aheadEsc = 'none';
    this.replaying = true;
    try {
      this.feed(q);
    } finally {
      this.replaying = false;
    }
  }

  /** Stops reading (a foreground command runs): keystrokes are type-ahead until the next prompt. */
  suspend(): void {
    this.reading = false;
  }

  /** Keystrokes typed while suspended, not yet read. */
  get typeAhead(): string {
    return this.ahead;
  }

  /** Prints `text` (lines) above the line being edited, then redraws the prompt and line. */
  interject(text: string): void {
    const body = text.replace(/\r?\n/g, '\r\n');
    if (!this.reading) {
      this.host.write(body);
      return;
    }
    this.host.write(`\r${ESC}[K${body}`);
    this.redraw(false);
  }

  /** Lines entered so far, oldest first. */
  get past(): readonly string[] {
    return this.history;
  }

  feed(data: string): void {
    for (const ch of data) this.key(ch);
  }

  private key(ch: string): void {
    if (!this.reading && ch !== '\x03') {
      this.queue(ch);
      return;
    }
    const cr = this.lastWasCr;
    this.lastWasCr = false;
    if (this.esc.kind !== 'none') {
      this.escape(ch);
      return;
    }
    switch (ch) {
      case ESC:
        this.esc = { kind: 'esc' };
        return;
      case '\x03':
        this.host.write('^C\r\n');
        this.buf = '';
        this.cursor = 0;
        this.reading = false;
        this.ahead = '';
        this.aheadEsc = 'none';
        this.esc = { kind: 'none' };
        this.host.interrupt();
        return;
    }
    if (!this.reading) return;
    switch (ch) {
      case '\r':
        this.lastWasCr = true;
        this.enter();
        return;
      case '\n':
        if (!cr) this.enter();
        return;
      case '\x7f':
      case '\b':
        this.backspace();
        return;
      case '\x15': // Ctrl-U
        this.buf = this.buf.slice(this.cursor);
        this.cursor = 0;
        this.redraw(true);
        return;
      case '\x0c': // Ctrl-L
        this.host.write(`${ESC}[H${ESC}[2J`);
        this.redraw(false);
        return;
      case '\x01': // Ctrl-A
        this.move(-this.cursor);
        return;
      case '\x05': // Ctrl-E
        this.move(this.buf.length - this.cursor);
        return;
    }
    if (ch < ' ' || ch === '\x7f') return;
    this.insert(ch);
  }

  /** A keystroke while suspended: queued, and echoed as a terminal in canonical mode does. */
  private queue(ch: string): void {
    const echo = (s: string) => {
      if (!this.replaying) this.host.write(s);
    };
    if (this.aheadEsc !== 'none' || ch === ESC) {
      // Escape sequences (arrows, Home …) are queued whole for the prompt, not echoed.
      this.ahead += ch;
      const code = ch.charCodeAt(0);
      if (ch === ESC) this.aheadEsc = 'esc';
      else if (this.aheadEsc === 'esc') this.aheadEsc = ch === '[' ? 'csi' : ch === 'O' ? 'ss3' : 'none';
      else if (this.aheadEsc === 'ss3' || code < 0x20 || code > 0x3f) this.aheadEsc = 'none';
      return;
    }
    // The line being typed ahead: after the last line end, outside escape sequences.
    const lineStart = Math.max(this.ahead.lastIndexOf('\r'), this.ahead.lastIndexOf('\n')) + 1;
    const typed = this.ahead.slice(lineStart);
    const erasable = /^[^\x00-\x1f\x7f]*$/.test(typed) ? typed.length : 0;
    if (ch === '\x7f' || ch === '\b') {
      if (erasable > 0) {
        this.ahead = this.ahead.slice(0, -1);
        echo('\b \b');
      }
      return;
    }
    if (ch === '\x15') {
      this.ahead = this.ahead.slice(0, this.ahead.length - erasable);
      echo('\b \b'.repeat(erasable));
      return;
    }
    this.ahead += ch;
    if (ch === '\r' || ch === '\n') {
      if (!(ch === '\n' && this.ahead.endsWith('\r\n'))) echo('\r\n');
    } else if (ch >= ' ' && ch !== '\x7f') echo(ch);
  }

  private escape(ch: string): void {
    const e = this.esc;
    if (e.kind === 'esc') {
      if (ch === '[') this.esc = { kind: 'csi', params: '' };
      else if (ch === 'O') this.esc = { kind: 'ss3' };
      else this.esc = { kind: 'none' }; // Alt-<key>: ignored
      return;
    }
    if (e.kind === 'ss3') {
      this.esc = { kind: 'none' };
      this.cursorKey(ch, '');
      return;
    }
    if (e.kind === 'csi') {
      // CSI: parameter bytes 0x30–0x3f, intermediate bytes 0x20–0x2f, then a final byte 0x40–0x7e.
      const code = ch.charCodeAt(0);
      if (code >= 0x20 && code <= 0x3f) {
        e.params += ch;
        return;
      }
      this.esc = { kind: 'none' };
      if (code >= 0x40 && code <= 0x7e) this.cursorKey(ch, e.params);
    }
  }

  private cursorKey(final: string, params: string): void {
    if (!this.reading) return;
    switch (final) {
      case 'A':
        this.browse(-1);
        break;
      case 'B':
        this.browse(1);
        break;
      case 'C':
        this.move(1);
        break;
      case 'D':
        this.move(-1);
        break;
      case 'H':
        this.move(-this.cursor);
        break;
      case 'F':
        this.move(this.buf.length - this.cursor);
        break;
      case '~':
        if (params === '3' && this.cursor < this.buf.length) {
          this.buf = this.buf.slice(0, this.cursor) + this.buf.slice(this.cursor + 1);
          this.redraw(true);
        } else if (params === '1' || params === '7') this.move(-this.cursor);
        else if (params === '4' || params === '8') this.move(this.buf.length - this.cursor);
        break;
    }
  }

  private enter(): void {
    const line = this.buf;
    this.host.write('\r\n');
    this.reading = false;
    if (line.trim() !== '' && this.history[this.history.length - 1] !== line) {
      this.history.push(line);
      if (this.history.length > HISTORY_MAX) this.history.shift();
    }
    this.buf = '';
    this.cursor = 0;
    this.host.line(line);
  }

  private insert(ch: string): void {
    if (this.cursor === this.buf.length) {
      this.buf += ch;
      this.cursor++;
      this.host.write(ch);
      return;
    }
    this.buf = this.buf.slice(0, this.cursor) + ch + this.buf.slice(this.cursor);
    this.cursor++;
    this.redraw(true);
  }

  private backspace(): void {
    if (this.cursor === 0) return;
    if (this.cursor === this.buf.length) {
      this.buf = this.buf.slice(0, -1);
      this.cursor--;
      this.host.write('\b \b');
      return;
    }
    this.buf = this.buf.slice(0, this.cursor - 1) + this.buf.slice(this.cursor);
    this.cursor--;
    this.redraw(true);
  }

  private move(by: number): void {
    const to = Math.max(0, Math.min(this.buf.length, this.cursor + by));
    if (to === this.cursor) return;
    const n = to - this.cursor;
    this.cursor = to;
    this.host.write(n > 0 ? `${ESC}[${n}C` : `${ESC}[${-n}D`);
  }

  private browse(dir: -1 | 1): void {
    const to = this.histPos + dir;
    if (to < 0 || to > this.history.length) return;
    if (this.histPos === this.history.length) this.draft = this.buf;
    this.histPos = to;
    this.buf = to === this.history.length ? this.draft : this.history[to]!;
    this.cursor = this.buf.length;
    this.redraw(true);
  }

  /** Rewrites the prompt and line (clearing what was there when `clear`) and puts the cursor back. */
  private redraw(clear: boolean): void {
    const back = this.buf.length - this.cursor;
    this.host.write(`${clear ? `\r${ESC}[K` : ''}${this.promptText}${this.buf}${back > 0 ? `${ESC}[${back}D` : ''}`);
  }
}
