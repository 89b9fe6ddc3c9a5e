"use strict";

// The document page: the tabs "Angaben", "Vermerke" and "Verlauf" (WAI-ARIA tabs pattern).
// The server renders every panel; this only shows one at a time. The selected tab is in the
// tab order, the arrow keys, Home and End move between the tabs, and the address keeps the
// tab (?reiter=…) so that reload and Back come back to it.
(() => {
  const tabs = [...document.querySelectorAll('.doc-side [role="tab"]')];
  if (!tabs.length) return;

  function select(tab, focus = false) {
    for (const other of tabs) {
      const chosen = other === tab;
      other.setAttribute("aria-selected", chosen ? "true" : "false");
      other.classList.toggle("active", chosen);
      other.tabIndex = chosen ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !chosen;
    }
    if (focus) tab.focus();
    const address = new URL(window.location.href);
    address.searchParams.set("reiter", tab.dataset.tab);
    address.searchParams.delete("gespeichert");
    history.replaceState(null, "", address.pathname + address.search);
  }

  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const target = {
        ArrowRight: index + 1, ArrowDown: index + 1, ArrowLeft: index - 1, ArrowUp: index - 1,
        Home: 0, End: tabs.length - 1,
      }[event.key];
      if (target === undefined) return;
      event.preventDefault();
      select(tabs[(target + tabs.length) % tabs.length], true);
    });
  });
})();
