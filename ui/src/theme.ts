/** Light/dark: the system's choice until the user picks one (kept in localStorage: not a secret). */
const KEY = 'kairos.theme';
export type Theme = 'light' | 'dark';

export function systemTheme(): Theme {
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function currentTheme(): Theme {
  const set = document.documentElement.dataset.theme;
  return set === 'dark' || set === 'light' ? set : systemTheme();
}

export function applyStoredTheme(): void {
  try {
    const t = window.localStorage.getItem(KEY);
    if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
  } catch {
    // storage disabled: follow the system
  }
}

export function toggleTheme(): Theme {
  const next: Theme = currentTheme() === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  try {
    window.localStorage.setItem(KEY, next);
  } catch {
    // storage disabled: this page only
  }
  return next;
}
