/*
 * The records manager's list of files due (/schriftgut). The list is rendered on the server
 * (web/lifecycle_pages.py, template _schriftgut_due.html); the page works without this script
 * (a GET form). This script fetches the list alone (/schriftgut/liste, the same query as the
 * page's address) when the filter changes and swaps it into #due-list, keeping the address in
 * step (reload and Back show the same). An older answer never replaces a newer one. Every label
 * comes from the server.
 */
"use strict";

(() => {
  const form = document.getElementById("due-filter");
  const list = document.getElementById("due-list");
  if (!form || !list) return;
  const select = form.elements.namedItem("filter");
  const announce = document.getElementById("due-announce");
  let asked = 0; // the number of the latest request

  function notice(text, className) {
    const line = document.createElement("p");
    line.className = className;
    line.textContent = text;
    if (className === "error") line.setAttribute("role", "alert");
    list.replaceChildren(line);
  }

  async function show(wanted, push) {
    const ticket = ++asked;
    const params = new URLSearchParams({ filter: wanted });
    if (push) history.pushState(null, "", `/schriftgut?${params}`);
    const answer = await fetchPart(`/schriftgut/liste?${params}`);
    if (ticket !== asked) return;
    if (answer.status !== 200 || !answer.body) {
      notice(answer.loggedOut || answer.status === 0 ? answer.error
        : `Die Liste konnte nicht geladen werden (Fehler ${answer.status}).`, "error");
      return;
    }
    list.replaceChildren(...answer.body.childNodes);
    // Screen readers hear the new list's heading (its filter and count), not the whole table.
    const summary = document.getElementById("due-summary");
    if (announce && summary) announce.textContent = summary.textContent;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show(select.value, true);
  });
  select.addEventListener("change", () => show(select.value, true));
  window.addEventListener("popstate", () => {
    const wanted = new URLSearchParams(location.search).get("filter") || "faellig";
    select.value = wanted;
    show(wanted, false);
  });
})();
