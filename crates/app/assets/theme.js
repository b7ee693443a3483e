// Light or dark: the system's setting unless the person chose one with the navigation's toggle (kept
// in this browser). Loaded in <head>, before the page is drawn, so it never flashes the other theme.
(function () {
  const KEY = "brigade-theme";
  const system = () => (window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  const chosen = () => {
    try {
      return localStorage.getItem(KEY);
    } catch (e) {
      return null;
    }
  };
  const apply = () => {
    const theme = chosen() || system();
    document.documentElement.setAttribute("data-bs-theme", theme);
    document.dispatchEvent(new CustomEvent("brigade:theme", { detail: theme }));
    const button = document.getElementById("theme-toggle");
    if (button) {
      const next = theme === "dark" ? "light" : "dark";
      button.setAttribute("aria-label", "Switch to " + next + " mode");
      button.setAttribute("title", "Switch to " + next + " mode");
      button.textContent = theme === "dark" ? "☀" : "☾";
    }
  };
  apply();
  if (window.matchMedia) window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", apply);
  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("theme-toggle");
    if (!button) return;
    apply();
    button.addEventListener("click", () => {
      const next = document.documentElement.getAttribute("data-bs-theme") === "dark" ? "light" : "dark";
      try {
        localStorage.setItem(KEY, next === system() ? "" : next);
        if (next === system()) localStorage.removeItem(KEY);
      } catch (e) {
        document.documentElement.setAttribute("data-bs-theme", next);
        return;
      }
      apply();
    });
  });
})();
