/**
 * A readline-style line editor over raw xterm.js keystrokes: printable characters are inserted
 * and echoed, Enter ('\r', or '\n' in pasted text) ends the line, Backspace ('\x7f' or '\b')
 * deletes, Ctrl-C interrupts, Ctrl-U kills the line, Ctrl-L clears the screen, the arrow keys
 * move in the line (left/right, Home/End, Delete) and through history (up/down). Other escape
 * sequences (function keys, mouse reports, focus events) are read to their end and ignored.
 * Output uses '\r\n' line endings.
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

  constructor(private readonly host: LineEditorHost) {}

  get text(): string {
    return this.buf;
  }

  get active(): boolean {
    return this.reading;
  }

  /** Shows the prompt and starts reading a line. */
  prompt(p: string): void {
    this.promptText = p;
    this.buf = '';
    this.cursor = 0;
    this.histPos = this.history.length;
    this.reading = true;
    this.host.write(p);
  }

  /** Stops reading (a foreground command runs): keystrokes other than Ctrl-C are dropped. */
  suspend(): void {
    this.reading = false;
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
