/*
 * Search in the files the user may see: the /suche page and the box "In dieser Akte suchen"
 * of an E-Akte. Every <form class="search-form"> is wired up: data-search-results and
 * data-search-facets name the containers, data-bg fixes the household (search in one file).
 * A hit opens the viewer window at the hit's page with the words marked (viewer-link.js).
 */
"use strict";

(() => {
  const LIMIT = 20;
  const FILTERS = ["bg_number", "doc_type", "from", "to", "status", "direction", "team"];
  const STATUS = { routed: "offen im Postkorb", done: "erledigt", clearing: "in Klärung" };
  const DIRECTION = { in: "Posteingang", out: "Postausgang" };
  let typeNames = null;

  async function loadTypeNames() {
    if (typeNames) return typeNames;
    try {
      const response = await fetch("/api/doctypes", { credentials: "same-origin" });
      const body = await response.json();
      typeNames = Object.fromEntries((body.doctypes || []).map((t) => [t.code, t.name]));
    } catch {
      typeNames = {};
    }
    return typeNames;
  }

  // The team filter offers the teams by name; one given in the address stays chosen.
  async function loadTeams(select, chosen) {
    if (!select) return;
    let teams = [];
    try {
      const response = await fetch("/api/search/teams", { credentials: "same-origin" });
      if (response.ok) teams = (await response.json()).teams || [];
    } catch {
      teams = [];
    }
    for (const team of teams) select.add(new Option(team, team));
    select.value = chosen || "";
  }

  // The words the viewer marks: what was typed, without quotes.
  function terms(q) {
    return q.replace(/["„“”]/g, " ").split(/\s+/).filter(Boolean);
  }

  function wire(form) {
    const results = document.getElementById(form.dataset.searchResults);
    const facets = document.getElementById(form.dataset.searchFacets);
    const fixedBg = form.dataset.bg || "";
    const onSearchPage = !fixedBg;
    const state = { q: "", offset: 0 };

    function readForm() {
      state.q = (form.elements.q.value || "").trim();
      for (const name of FILTERS) {
        const field = form.elements[name];
        if (field) state[name] = field.value || "";
      }
      if (fixedBg) state.bg_number = fixedBg;
    }

    function writeForm() {
      form.elements.q.value = state.q;
      for (const name of FILTERS) {
        const field = form.elements[name];
        if (field) field.value = state[name] || "";
      }
    }

    function params() {
      const p = new URLSearchParams({ q: state.q, limit: String(LIMIT), offset: String(state.offset) });
      for (const name of FILTERS) if (state[name]) p.set(name, state[name]);
      return p;
    }

    async function run() {
      if (!state.q) {
        results.replaceChildren();
        if (facets) facets.hidden = true;
        return;
      }
      const query = params();
      if (onSearchPage) {
        const shown = new URLSearchParams(query);
        shown.delete("limit");
        if (state.offset === 0) shown.delete("offset");
        history.replaceState(null, "", `/suche?${shown}`);
      }
      setHtml(results, html`<p class="hint">Suche läuft …</p>`);
      const names = await loadTypeNames();
      let body;
      try {
        const response = await fetch(`/api/search?${query}`, { credentials: "same-origin" });
        body = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error((body.error && body.error.message) || `Fehler ${response.status}`);
      } catch (error) {
        setHtml(results, html`<p class="error">${error.message}</p>`);
        if (facets) facets.hidden = true;
        return;
      }
      renderFacets(body.facets || {}, names);
      renderHits(body, names);
    }

    function activeFilters(names) {
      const chips = [];
      for (const name of FILTERS) {
        if (!state[name] || (name === "bg_number" && fixedBg)) continue;
        let label = state[name];
        if (name === "doc_type") label = names[label] || label;
        if (name === "status") label = STATUS[label] || label;
        if (name === "direction") label = DIRECTION[label] || label;
        if (name === "from") label = `ab ${germanDate(label)}`;
        if (name === "to") label = `bis ${germanDate(label)}`;
        if (name === "bg_number") label = `BG ${label}`;
        if (name === "team") label = `Team ${label}`;
        chips.push(html`<button type="button" data-clear="${name}" title="Filter entfernen">${label} ✕</button>`);
      }
      return chips.length ? html`<div class="active-filters">${chips}</div>` : "";
    }

    function renderHits(body, names) {
      const from = state.offset + 1;
      const to = state.offset + body.hits.length;
      const count = body.total === 1 ? "1 Treffer" : `${body.total} Treffer`;
      const range = body.total > LIMIT ? ` (${from}–${to})` : "";
      const hits = body.hits.map((hit) => {
        const type = names[hit.doc_type] || hit.doc_type || "ohne Dokumentart";
        const household = hit.bg_number
          ? html`<a href="${uri`/akte/${hit.bg_number}`}">BG ${hit.bg_number}</a>`
          : "ohne Haushalt (Klärung)";
        const direction = hit.direction === "out" ? " · Postausgang" : "";
        if (hit.status === "vermerk") {
          // A note on the whole file: the hit opens the E-Akte.
          return html`
          <article class="hit" data-note="${hit.document_id}">
            <div><a href="${hit.viewer_url}">Vermerk zur Akte</a></div>
            <div class="meta">vom ${germanDate(hit.receipt_date)} · ${household}</div>
            <div class="snippet">${markedSnippet(hit.snippet)}</div>
          </article>`;
        }
        return html`
          <article class="hit" data-document="${hit.document_id}">
            <div><a class="open" href="${hit.viewer_url}" data-doc="${hit.document_id}" data-page="${hit.page}"
                title="Im Anzeigefenster öffnen">${type} · Seite ${hit.page}</a></div>
            <div class="meta">Eingang ${germanDate(hit.receipt_date)}${direction} · ${household}
              · ${STATUS[hit.status] || ""} · ${hit.source_name}
              · <a href="${`${uri`/dokument/${hit.document_id}`}?liste=suche&${new URLSearchParams([...params()].filter(([k]) => k !== "limit" && k !== "offset"))}`}">Dokumentseite</a></div>
            <div class="snippet">${markedSnippet(hit.snippet)}</div>
          </article>`;
      });
      const pager = [];
      if (state.offset > 0) pager.push(html`<button type="button" data-page="back" class="secondary">« Zurück</button>`);
      if (to < body.total) pager.push(html`<button type="button" data-page="next" class="secondary">Weiter »</button>`);
      const none = body.total === 0
        ? html`<p>Keine Treffer in den Akten, die Sie sehen dürfen. Prüfen Sie die Schreibweise oder entfernen Sie Filter.</p>`
        : "";
      setHtml(results, html`<p class="summary" role="status">${count}${range}</p>${activeFilters(names)}${none}${hits}${
        pager.length ? html`<div class="pager">${pager}</div>` : ""}`);
    }

    function renderFacets(counted, names) {
      if (!facets) return;
      const groups = [
        ["doc_type", "Dokumentart", (code) => names[code] || code],
        ["year", "Eingangsjahr", (year) => year],
      ];
      if (!fixedBg) groups.push(["household", "Haushalt (BG)", (bg) => bg]);
      const parts = [];
      for (const [key, title, label] of groups) {
        const entries = Object.entries(counted[key] || {});
        if (!entries.length) continue;
        const items = entries.map(([value, n]) => {
          const active =
            (key === "doc_type" && state.doc_type === value) ||
            (key === "household" && state.bg_number === value) ||
            (key === "year" && state.from === `${value}-01-01` && state.to === `${value}-12-31`);
          return html`<li><button type="button" class="${active ? "active" : ""}" data-facet="${key}"
            data-value="${value}">${label(value)}</button><span class="n">${n}</span></li>`;
        });
        parts.push(html`<h3>${title}</h3><ul data-facet-group="${key}">${items}</ul>`);
      }
      setHtml(facets, html`${parts}`);
      facets.hidden = parts.length === 0;
    }

    function applyFacet(key, value) {
      if (key === "doc_type") state.doc_type = state.doc_type === value ? "" : value;
      if (key === "household") state.bg_number = state.bg_number === value ? "" : value;
      if (key === "year") {
        const same = state.from === `${value}-01-01` && state.to === `${value}-12-31`;
        state.from = same ? "" : `${value}-01-01`;
        state.to = same ? "" : `${value}-12-31`;
      }
      state.offset = 0;
      writeForm();
      run();
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      readForm();
      state.offset = 0;
      run();
    });
    if (facets) {
      facets.addEventListener("click", (event) => {
        const button = event.target.closest("button[data-facet]");
        if (button) applyFacet(button.dataset.facet, button.dataset.value);
      });
    }
    results.addEventListener("click", (event) => {
      const open = event.target.closest("a.open");
      if (open && window.EAkteViewer && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
        event.preventDefault();
        window.EAkteViewer.show(open.dataset.doc, { page: Number(open.dataset.page), terms: terms(state.q) });
        return;
      }
      const clear = event.target.closest("button[data-clear]");
      if (clear) {
        const name = clear.dataset.clear;
        state[name] = "";
        state.offset = 0;
        writeForm();
        run();
        return;
      }
      const pager = event.target.closest("button[data-page]");
      if (pager) {
        state.offset = Math.max(0, state.offset + (pager.dataset.page === "next" ? LIMIT : -LIMIT));
        run();
      }
    });

    if (onSearchPage) {
      // The address's query is applied at once: a search typed while the type names still
      // load must not be overwritten when they arrive.
      const given = new URLSearchParams(location.search);
      state.q = given.get("q") || "";
      state.offset = Number(given.get("offset") || 0);
      for (const name of FILTERS) state[name] = given.get(name) || "";
      writeForm();
      const nav = document.querySelector(".nav-search input");
      if (nav) nav.value = "";
      if (state.q) run();
      loadTeams(form.elements.team, state.team);
      loadTypeNames().then((names) => {
        const select = form.elements.doc_type;
        if (select) {
          for (const [code, name] of Object.entries(names)) select.add(new Option(name, code));
          select.value = state.doc_type || "";
        }
      });
    }
  }

  document.querySelectorAll("form.search-form").forEach(wire);
})();
