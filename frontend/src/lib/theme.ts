// Light, dark or the system's choice, remembered per browser.
export type Theme = "light" | "dark" | "system";
const key = "cairn.theme";

export function currentTheme(): Theme {
  const t = localStorage.getItem(key);
  return t === "light" || t === "dark" ? t : "system";
}

export function applyTheme(t: Theme = currentTheme()): void {
  if (t === "system") {
    localStorage.removeItem(key);
    delete document.documentElement.dataset.theme;
  } else {
    localStorage.setItem(key, t);
    document.documentElement.dataset.theme = t;
  }
}
