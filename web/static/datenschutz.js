/*
 * The data protection officer's audit search (/datenschutz). The results are rendered on the
 * server (web/privacy_pages.py, template _datenschutz_results.html); the page works without
 * this script (a GET form, links for paging). This script fetches the results part
 * (/datenschutz/treffer, the same query as the page's address) and swaps it into
 * #audit-results, keeping the address in step (Back shows the search before). An older answer
 * never replaces a newer one. Every label comes from the server.
 */
"use strict";

(() => {
  const form = document.getElementById("audit-search");
  const results = document.getElementById("audit-results");
  if (!form || !results) return;
  let asked = 0; // the number of the latest search asked for

  function notice(text, className) {
    const line = document.createElement("p");
    line.className = className;
    line.textContent = text;
    if (className === "error") line.setAttribute("role", "alert");
    results.replaceChildren(line);
  }

  function formParams() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (String(value).trim()) params.set(name, String(value).trim());
    }
    return params;
  }

  function writeForm(params) {
    for (const field of form.elements) {
      if (field.name) field.value = params.get(field.name) || "";
    }
  }

  async function run(params, push) {
    const ticket = ++asked;
    if (push) history.pushState(null, "", `/datenschutz?${params}`);
    notice("Suche läuft …", "hint");
    const answer = await fetchPart(`/datenschutz/treffer?${params}`);
    if (ticket !== asked) return;
    if (answer.status !== 200 || !answer.body) {
      notice(answer.loggedOut || answer.status === 0 ? answer.error
        : `Die Suche ist fehlgeschlagen (Fehler ${answer.status}).`, "error");
      return;
    }
    results.replaceChildren(...answer.body.childNodes);
    const summary = document.getElementById("audit-summary");
    if (summary && push === "link") summary.focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(formParams(), true);
  });
  results.addEventListener("click", (event) => {
    const link = event.target.closest("a.audit-page");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button > 0) return;
    event.preventDefault();
    run(new URL(link.href, location.href).searchParams, "link");
  });
  window.addEventListener("popstate", () => {
    const params = new URLSearchParams(location.search);
    writeForm(params);
    run(params, false);
  });
})();
