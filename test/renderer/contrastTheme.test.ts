// The high-contrast theme: chosen in the picker, or by "Auto" when the OS asks for more contrast
// (prefers-contrast: more), which then wins over the OS's light or dark scheme.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import App from '../../renderer/src/App.svelte';
import { fakeLab } from './labFixture.js';

class Query extends EventTarget {
  matches = false;
  onchange = null;
  constructor(readonly media: string) {
    super();
  }
  addListener(): void {}
  removeListener(): void {}
  set(on: boolean): void {
    this.matches = on;
    this.dispatchEvent(new Event('change'));
  }
}

let dark: Query;
let more: Query;
beforeEach(() => {
  localStorage.clear();
  dark = new Query('(prefers-color-scheme: dark)');
  more = new Query('(prefers-contrast: more)');
  vi.stubGlobal('matchMedia', (q: string) => (q.includes('prefers-color-scheme: dark') ? dark : q.includes('prefers-contrast: more') ? more : new Query(q)));
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const theme = () => document.documentElement.dataset.theme;

describe('high-contrast theme', () => {
  it('Auto follows the OS asking for more contrast, over its dark scheme, and back', () => {
    const { lab } = fakeLab();
    render(App, { props: { lab } });
    dark.set(true);
    flushSync();
    expect(theme()).toBe('dark');
    more.set(true);
    flushSync();
    expect(theme()).toBe('contrast');
    expect(lab.dark).toBe(false);
    more.set(false);
    flushSync();
    expect(theme()).toBe('dark');
  });

  it('can be chosen in the picker, is remembered, and a chosen theme ignores the OS', () => {
    const { lab } = fakeLab();
    render(App, { props: { lab } });
    const picker = screen.getByLabelText('Theme') as HTMLSelectElement;
    expect([...picker.options].map((o) => o.value)).toEqual(['system', 'light', 'dark', 'contrast']);
    lab.setTheme('contrast');
    flushSync();
    expect(theme()).toBe('contrast');
    expect(localStorage.getItem('hyperlab-theme')).toBe('contrast');
    more.set(false);
    dark.set(true);
    flushSync();
    expect(theme()).toBe('contrast');
    // A new session starts with the remembered choice.
    cleanup();
    const { lab: next } = fakeLab();
    expect(next.theme).toBe('contrast');
  });
});
