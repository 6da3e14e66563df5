// The theme: "system" follows the OS's colour scheme, also when the OS switches while the app is
// open; an explicit light or dark setting does not.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import App from '../../renderer/src/App.svelte';
import { fakeLab } from './labFixture.js';

/** The OS's `(prefers-color-scheme: dark)` query, switchable by the test as a user's OS is. */
class OsScheme extends EventTarget {
  matches = false;
  onchange = null;
  constructor(readonly media: string) {
    super();
  }
  addListener(): void {}
  removeListener(): void {}
  set(dark: boolean): void {
    this.matches = dark;
    this.dispatchEvent(new Event('change'));
  }
}

let os: OsScheme;
beforeEach(() => {
  localStorage.clear();
  os = new OsScheme('(prefers-color-scheme: dark)');
  vi.stubGlobal('matchMedia', (q: string) => (q.includes('prefers-color-scheme: dark') ? os : new OsScheme(q)));
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const theme = () => document.documentElement.dataset.theme;

describe('theme', () => {
  it('with "system", follows the OS when it switches while the app is open', () => {
    const { lab } = fakeLab();
    render(App, { props: { lab } });
    flushSync();
    expect(lab.theme).toBe('system');
    expect(theme()).toBe('light');
    os.set(true);
    flushSync();
    expect(theme()).toBe('dark');
    os.set(false);
    flushSync();
    expect(theme()).toBe('light');
  });

  it('an explicit setting wins over the OS; back to "system" takes the OS’s current scheme', () => {
    const { lab } = fakeLab();
    render(App, { props: { lab } });
    lab.setTheme('light');
    os.set(true);
    flushSync();
    expect(theme()).toBe('light');
    lab.setTheme('system');
    flushSync();
    expect(theme()).toBe('dark');
  });
});
