// The top bar's two buttons: the theme (light or dark; the system's choice until one is picked,
// then remembered in localStorage) and, on phones, the menu. Loaded in <head> without defer, so the
// remembered theme is on <html> before the page is painted (no flash of the other theme).
(function () {
  "use strict";
  var KEY = "heartwatch-theme";
  var root = document.documentElement;
  var system = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function remembered() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }
  function wanted() {
    var chosen = remembered();
    if (chosen === "dark" || chosen === "light") return chosen;
    return system && system.matches ? "dark" : "light";
  }
  function describe(button) {
    var dark = root.getAttribute("data-theme") === "dark";
    button.setAttribute("aria-pressed", dark ? "true" : "false");
    button.title = dark ? "Dark theme on: switch to light" : "Light theme on: switch to dark";
  }
  function apply(theme) {
    root.setAttribute("data-theme", theme);
    var button = document.querySelector("[data-theme-toggle]");
    if (button) describe(button);
    document.dispatchEvent(new CustomEvent("heartwatch:theme", { detail: theme }));
  }

  root.classList.add("js");
  root.setAttribute("data-theme", wanted());
  if (system && system.addEventListener) {
    system.addEventListener("change", function () { if (!remembered()) apply(wanted()); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector("[data-theme-toggle]");
    if (toggle) {
      toggle.hidden = false;
      describe(toggle);
      toggle.addEventListener("click", function () {
        var next = root.getAttribute("data-theme") === "dark" ? "light" : "dark";
        try { window.localStorage.setItem(KEY, next); } catch (e) { /* private mode: this page only */ }
        apply(next);
      });
    }
    var menu = document.querySelector("[data-nav-toggle]");
    if (menu) {
      menu.hidden = false;
      menu.addEventListener("click", function () {
        var open = menu.closest(".topbar").classList.toggle("nav-open");
        menu.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
  });
})();
