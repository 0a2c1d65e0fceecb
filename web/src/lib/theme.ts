// Light/dark theme: remembered in localStorage; without a choice it follows the system.
export type Theme = "light" | "dark";
const KEY = "fintwin.theme";

export function storedTheme(): Theme | null {
  const t = localStorage.getItem(KEY);
  return t === "light" || t === "dark" ? t : null;
}

export function systemTheme(): Theme {
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function applyTheme(t: Theme): void {
  document.documentElement.dataset.theme = t;
}

export function chooseTheme(t: Theme): void {
  localStorage.setItem(KEY, t);
  applyTheme(t);
}
