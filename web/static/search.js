/*
 * Search in the files the user may see: the /suche page and the box "In dieser Akte suchen"
 * of an E-Akte. The results are rendered on the server (web/search_pages.py, template
 * _search_results.html); the page works without this script (a GET form, links for facets,
 * filters and paging). This script only enhances every <form class="search-form">: it fetches
 * the results part (/suche/treffer, the same query as the page's address) and swaps it into
 * the containers named by data-search-results and data-search-facets; data-bg fixes the
 * household (search in one file). An older answer never replaces a newer one. A hit opens the
 * viewer window at the hit's page with the words marked (viewer-link.js).
 */
"use strict";

(() => {
  const KEYS = ["q", "bg_number", "doc_type", "from", "to", "status", "direction", "team"];

  // The words the viewer marks: what was typed, without quotes.
  function terms(q) {
    return q.replace(/["„“”]/g, " ").split(/\s+/).filter(Boolean);
  }

  // The server's results (format.js's fetchPart).
  async function fetchResults(url) {
    const answer = await fetchPart(url);
    if (answer.status !== 200 || !answer.body) {
      return { error: answer.loggedOut || answer.status === 0 ? answer.error
        : `Die Suche ist fehlgeschlagen (Fehler ${answer.status}).` };
    }
    return { body: answer.body };
  }

  function notice(container, text, className) {
    const line = document.createElement("p");
    line.className = className;
    line.textContent = text;
    if (className === "error") line.setAttribute("role", "alert");
    container.replaceChildren(line);
  }

  // The saved searches' forms save (and after a delete return to) the search on screen; the
  // saved search that is this one is marked as the current page.
  function keepSavedQuery(query) {
    const kept = new URLSearchParams(query);
    kept.delete("offset");
    const same = (params) => {
      const sorted = new URLSearchParams(params);
      sorted.sort();
      return sorted.toString();
    };
    for (const field of document.querySelectorAll("input[data-saved-query]")) field.value = kept.toString();
    for (const link of document.querySelectorAll("#views-list a")) {
      const here = same(new URL(link.href, location.href).searchParams) === same(kept);
      if (here) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  function wire(form) {
    const results = document.getElementById(form.dataset.searchResults);
    const facets = document.getElementById(form.dataset.searchFacets);
    const fixedBg = form.dataset.bg || "";
    const onSearchPage = !fixedBg;
    let asked = 0; // the number of the latest search asked for

    // The search as the form holds it now (empty values left out).
    function formParams() {
      const params = new URLSearchParams();
      for (const name of KEYS) {
        const field = form.elements[name];
        const value = field ? field.value.trim() : "";
        if (value) params.set(name, value);
      }
      return params;
    }

    function writeForm(params) {
      for (const name of KEYS) {
        const field = form.elements[name];
        if (field) field.value = params.get(name) || "";
      }
    }

    // The part's containers take the answer's contents; the focus stays on the same link
    // (by its data-key), else it goes to the result line, so a keyboard user is never left
    // on a control that vanished.
    function swap(body) {
      const hadFocus = (results.contains(document.activeElement) ||
        (facets && facets.contains(document.activeElement))) && document.activeElement;
      const key = hadFocus && hadFocus.dataset ? hadFocus.dataset.key : "";
      const answer = body.querySelector("[data-search-part=results]");
      const counted = body.querySelector("[data-search-part=facets]");
      if (answer) {
        results.dataset.q = answer.dataset.q || "";
        results.replaceChildren(...answer.childNodes);
      }
      if (facets && counted) {
        facets.replaceChildren(...counted.childNodes);
        facets.hidden = counted.hidden;
      }
      if (!hadFocus) return;
      const same = key && [results, facets].map((part) => part && part.querySelector(
        `[data-key="${CSS.escape(key)}"]`)).find(Boolean);
      const target = same || results.querySelector(".summary, .error");
      if (target) target.focus();
    }

    async function run(params) {
      const ticket = ++asked;
      const query = new URLSearchParams(params);
      query.delete("akte");
      if (fixedBg) {
        query.delete("bg_number");
        query.set("akte", fixedBg);
      }
      if (onSearchPage) {
        history.replaceState(null, "", `/suche?${query}`);
        keepSavedQuery(query);
      }
      if (!query.get("q")) {
        results.replaceChildren();
        if (facets) facets.hidden = true;
        return;
      }
      notice(results, "Suche läuft …", "hint");
      const answer = await fetchResults(`/suche/treffer?${query}`);
      if (ticket !== asked) return; // a later search was asked: only its answer is shown
      if (answer.error) {
        notice(results, answer.error, "error");
        if (facets) facets.hidden = true;
        return;
      }
      swap(answer.body);
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(formParams());
    });

    // Facets, lifted filters and paging are links to the page's address with the new search;
    // here they load in place (a click with Ctrl, Shift or the middle button still opens a tab).
    function follow(event) {
      const link = event.target.closest("a[data-search-link]");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button > 0) return false;
      event.preventDefault();
      const params = new URL(link.href, location.href).searchParams;
      writeForm(params);
      run(params);
      return true;
    }

    if (facets) facets.addEventListener("click", follow);
    results.addEventListener("click", (event) => {
      if (follow(event)) return;
      const open = event.target.closest("a.open");
      if (open && window.EAkteViewer && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
        event.preventDefault();
        window.EAkteViewer.show(open.dataset.doc, {
          page: Number(open.dataset.page),
          terms: terms(results.dataset.q || ""),
        });
      }
    });
  }

  document.querySelectorAll("form.search-form").forEach(wire);
})();
