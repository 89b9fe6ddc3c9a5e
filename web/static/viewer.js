/*
 * The document viewer: a window of its own, usually on the caseworker's second monitor.
 *
 * It works alone (/viewer?doc=ID&page=N&q=term1+term2) and it follows the main window.
 *
 * PROTOCOL on BroadcastChannel("eakte-viewer") (same origin, every tab and window of the
 * browser profile; web/static/viewer-link.js implements the main window's side):
 *
 *   main -> viewer  {type: "show", documentId: "<uuid>", page: 1, terms: ["wort", ...]}
 *                     page (1-based) and terms are optional. A new document opens on `page`
 *                     or page 1; the document already shown stays on its page unless `page`
 *                     is given. `terms` are highlighted (case-insensitive, umlauts folded, on
 *                     word prefixes); without `terms` no highlighting.
 *   main -> viewer  {type: "ping"}
 *   viewer -> main  {type: "pong", documentId: "<uuid>" | null}   answer to every ping
 *   viewer -> main  {type: "viewer-ready", documentId: "<uuid>" | null}   once loaded
 *   viewer -> main  {type: "viewer-closed"}   when the window closes or navigates away
 *
 * Every document, page image, word list and PDF comes through the API, which checks access
 * and writes the audit log; this file never decides who may see what.
 */
"use strict";

(() => {
  const CHANNEL = "eakte-viewer";
  const ZOOMS = [0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 2.5, 3];
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const MESSAGES = {
    401: "Ihre Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an.",
    403: "Kein Zugriff auf dieses Dokument. Der Versuch wurde protokolliert.",
    404: "Dokument nicht gefunden",
  };

  const $ = (id) => document.getElementById(id);
  const stage = $("stage");
  const sheetBox = $("sheet-box");
  const sheet = $("sheet");
  const image = $("page-image");
  const marks = $("marks");
  const thumbs = $("thumbs");
  const message = $("message");
  const help = $("help");
  const historyPanel = $("history-panel");

  const state = {
    id: null, // document shown or being loaded
    doc: null, // the /view answer
    page: 1,
    terms: [],
    zoom: 1,
    rotation: new Map(), // page number -> degrees, view only
    words: new Map(), // page number -> Promise of word boxes
    kept: [], // preloaded images, held so that the browser finishes them
    generation: 0, // bumps with every document, so that late answers are dropped
    thumbsBuilt: false,
  };

  // --- text matching -------------------------------------------------------------------

  const SPLIT = /[^\p{L}\p{N}]+/u;

  function stripMarks(value) {
    return value.normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }

  // Both ways people type umlauts: "Müller" is "mueller" and "muller".
  function folds(value) {
    const lower = String(value).toLowerCase().replace(/ß/g, "ss");
    const written = stripMarks(lower.replace(/ä/g, "ae").replace(/ö/g, "oe").replace(/ü/g, "ue"));
    const plain = stripMarks(lower);
    return written === plain ? [written] : [written, plain];
  }

  function termsOf(values) {
    const terms = new Set();
    for (const value of values || []) {
      for (const form of folds(value)) {
        for (const part of form.split(SPLIT)) {
          if (part.length >= 2) terms.add(part);
        }
      }
    }
    return [...terms];
  }

  function matches(wordText, terms) {
    if (!terms.length) return false;
    // "Widerspruchs," and "Theodor-Storm-Straße" match "widerspruch" and "strasse".
    const parts = [];
    for (const form of folds(wordText)) {
      const pieces = form.split(SPLIT).filter(Boolean);
      parts.push(...pieces, pieces.join(""));
    }
    return parts.some((part) => terms.some((term) => part.startsWith(term)));
  }

  // --- talking to the server -----------------------------------------------------------

  class LoadError extends Error {
    constructor(status, text) {
      super(MESSAGES[status] || text || `Fehler ${status}`);
      this.status = status;
    }
  }

  async function getJson(url) {
    let response;
    try {
      // "include" as in the page's <link rel="preload" crossorigin="use-credentials">.
      response = await fetch(url, { credentials: "include" });
    } catch {
      throw new LoadError(0, "Der Server ist nicht erreichbar. Bitte später erneut versuchen.");
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new LoadError(response.status, body.error && body.error.message);
    }
    return body;
  }

  function wordsOf(pageNumber) {
    const page = pageInfo(pageNumber);
    if (!page || !page.words_url) return Promise.resolve([]);
    if (!state.words.has(pageNumber)) {
      state.words.set(
        pageNumber,
        getJson(page.words_url).catch((error) => {
          console.warn("Wortpositionen nicht geladen", pageNumber, error);
          state.words.delete(pageNumber);
          return [];
        }),
      );
    }
    return state.words.get(pageNumber);
  }

  // --- messages and header -------------------------------------------------------------

  function showMessage(text, { login = false } = {}) {
    message.textContent = text || "";
    message.hidden = !text;
    if (login) {
      const link = document.createElement("a");
      const next = window.location.pathname + window.location.search;
      link.href = `/anmelden?next=${encodeURIComponent(next)}`;
      link.textContent = "Zur Anmeldung";
      message.append(" ", link);
    }
  }

  function renderHeader() {
    const doc = state.doc;
    $("doc-title").textContent = doc ? doc.source_name : "Dokumentanzeige";
    const meta = [];
    if (doc) {
      meta.push(doc.doc_type_name || "Dokumentart offen");
      meta.push(doc.bg_number ? `BG ${doc.bg_number}` : "ohne Haushalt (Klärung)");
      meta.push(`Eingang ${germanDate(doc.receipt_date || doc.received_at)}`);
    }
    $("doc-meta").textContent = meta.join(" · ");
    // The objections office registers the letter shown here (web/static/legal.js).
    const register = $("register-letter");
    if (register) register.disabled = !(doc && doc.bg_number && window.EAkteLegal);
    // The document's own page in the main window, and its history beside the page.
    const docPage = $("doc-page");
    docPage.href = doc ? `/dokument/${encodeURIComponent(doc.id)}` : "#";
    if (doc) docPage.removeAttribute("aria-disabled");
    else docPage.setAttribute("aria-disabled", "true");
    $("history-toggle").disabled = !doc;
    if (!historyPanel.hidden) loadHistory();
    for (const [id, suffix] of [["download", ""], ["print", "?inline=1"]]) {
      const link = $(id);
      if (doc && doc.pdf_url) {
        link.href = safeUrl(doc.pdf_url + suffix); // format.js: only http(s) or our own paths
        link.removeAttribute("aria-disabled");
      } else {
        link.href = "#";
        link.setAttribute("aria-disabled", "true");
      }
    }
  }

  function renderPagePosition() {
    const total = state.doc ? state.doc.page_count : 0;
    $("page-indicator").textContent = total ? `Seite ${state.page} von ${total}` : "–";
    $("prev-page").disabled = !total || state.page <= 1;
    $("next-page").disabled = !total || state.page >= total;
    document.title = state.doc
      ? `${state.doc.source_name} – Seite ${state.page} von ${total} – E-Akte`
      : "Dokumentanzeige – E-Akte Jobcenter";
    for (const button of thumbs.querySelectorAll(".thumb")) {
      const current = Number(button.dataset.page) === state.page;
      button.classList.toggle("current", current);
      if (current) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    const current = thumbs.querySelector(".thumb.current");
    if (current) current.scrollIntoView({ block: "nearest" });
  }

  function rememberInAddress() {
    if (!state.id) return;
    const params = new URLSearchParams({ doc: state.id, page: String(state.page) });
    if (state.terms.length) params.set("q", state.terms.join(" "));
    history.replaceState(null, "", `/viewer?${params}`);
  }

  // --- the page ------------------------------------------------------------------------

  function pageInfo(number) {
    return state.doc ? state.doc.pages.find((p) => p.number === number) : null;
  }

  function layout() {
    const page = pageInfo(state.page);
    if (!page) return;
    const width = page.width || image.naturalWidth || 1654;
    const height = page.height || image.naturalHeight || 2339;
    const rotation = state.rotation.get(state.page) || 0;
    const sideways = rotation % 180 !== 0;
    const style = getComputedStyle(stage);
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    // Fit width: the turned page's bounding box is as wide as the stage, times the zoom.
    const boxWidth = Math.max(120, (stage.clientWidth - padding) * state.zoom);
    const sheetWidth = sideways ? (boxWidth * width) / height : boxWidth;
    const sheetHeight = sideways ? boxWidth : (boxWidth * height) / width;
    const boxHeight = sideways ? sheetWidth : sheetHeight;
    Object.assign(sheetBox.style, { width: `${boxWidth}px`, height: `${boxHeight}px` });
    Object.assign(sheet.style, {
      width: `${sheetWidth}px`,
      height: `${sheetHeight}px`,
      left: `${(boxWidth - sheetWidth) / 2}px`,
      top: `${(boxHeight - sheetHeight) / 2}px`,
      transform: rotation ? `rotate(${rotation}deg)` : "",
    });
    sheetBox.dataset.rotation = String(rotation);
    const percent = `${Math.round(state.zoom * 100)} %`;
    $("zoom-reset").textContent = percent;
    $("zoom-reset").setAttribute("aria-label", `${percent} – Seitenbreite (Zoom zurücksetzen)`);
  }

  async function drawMarks() {
    const number = state.page;
    const generation = state.generation;
    marks.replaceChildren();
    marks.dataset.count = "0";
    if (!state.terms.length) return;
    const page = pageInfo(number);
    const words = await wordsOf(number);
    if (generation !== state.generation || number !== state.page || !page) return;
    const terms = termsOf(state.terms);
    const width = page.width || image.naturalWidth;
    const height = page.height || image.naturalHeight;
    if (!width || !height) return;
    const boxes = [];
    for (const word of words) {
      if (!matches(word.text, terms)) continue;
      const box = document.createElement("div");
      box.className = "mark";
      box.title = word.text;
      Object.assign(box.style, {
        left: `${(word.left / width) * 100}%`,
        top: `${(word.top / height) * 100}%`,
        width: `${(word.width / width) * 100}%`,
        height: `${(word.height / height) * 100}%`,
      });
      boxes.push(box);
    }
    marks.replaceChildren(...boxes);
    marks.dataset.count = String(boxes.length);
  }

  function preload(number) {
    const page = pageInfo(number);
    if (!page || !page.image_url) return;
    const next = new Image();
    next.decoding = "async";
    next.src = page.image_url;
    state.kept.push(next);
  }

  function pageShown() {
    // For bench/viewer.py and the browser's performance tools: when a page became visible.
    performance.clearMarks("eakte-page-shown");
    performance.mark("eakte-page-shown", { detail: { documentId: state.id, page: state.page } });
    showMessage("");
    sheetBox.classList.remove("loading");
    if (!state.thumbsBuilt) buildThumbs();
    preload(state.page + 1);
  }

  function showPage(number, { toEnd = false } = {}) {
    if (!state.doc || !state.doc.page_count) return;
    state.page = Math.min(Math.max(1, number || 1), state.doc.page_count);
    const page = pageInfo(state.page);
    renderPagePosition();
    rememberInAddress();
    sheetBox.hidden = false;
    layout();
    if (!page.image_url) {
      image.removeAttribute("src");
      showMessage("Für diese Seite gibt es kein Bild.");
    } else if (image.getAttribute("src") !== page.image_url) {
      sheetBox.classList.add("loading");
      image.src = page.image_url;
    } else if (image.complete) {
      // Started early (before the document's details came) and already finished.
      if (image.naturalWidth > 0) pageShown();
      else pageFailed();
    }
    image.alt = `Seite ${state.page} von ${state.doc.page_count}: ${state.doc.source_name}`;
    stage.scrollTop = toEnd ? stage.scrollHeight : 0;
    drawMarks();
  }

  image.addEventListener("load", () => {
    if (state.doc && image.getAttribute("src") === (pageInfo(state.page) || {}).image_url) {
      pageShown();
    }
  });
  function pageFailed() {
    sheetBox.classList.remove("loading");
    showMessage("Die Seite konnte nicht geladen werden.");
    if (!state.thumbsBuilt) buildThumbs();
  }

  image.addEventListener("error", () => {
    // Before the details came it was an early start (perhaps for a refused document).
    if (state.doc && image.getAttribute("src")) pageFailed();
  });

  function buildThumbs() {
    state.thumbsBuilt = true;
    const buttons = state.doc.pages.map((page) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "thumb";
      button.dataset.page = String(page.number);
      button.setAttribute("aria-label", `Seite ${page.number}`);
      const picture = document.createElement("img");
      picture.alt = "";
      picture.loading = "lazy";
      if (page.thumb_url) picture.src = page.thumb_url;
      const label = document.createElement("span");
      label.textContent = String(page.number);
      button.append(picture, label);
      button.addEventListener("click", () => showPage(page.number));
      return button;
    });
    thumbs.replaceChildren(...buttons);
    renderPagePosition();
    countHits();
  }

  async function countHits() {
    const info = $("hit-info");
    if (!state.terms.length || !state.doc) {
      info.hidden = true;
      return;
    }
    const generation = state.generation;
    const terms = termsOf(state.terms);
    const label = state.terms.map((t) => `»${t}«`).join(", ");
    let total = 0;
    let pages = 0;
    for (const page of state.doc.pages) {
      const words = await wordsOf(page.number);
      if (generation !== state.generation) return;
      const hits = words.filter((word) => matches(word.text, terms)).length;
      total += hits;
      if (hits) pages += 1;
      const button = thumbs.querySelector(`.thumb[data-page="${page.number}"]`);
      if (button) {
        button.classList.toggle("has-hits", hits > 0);
        button.setAttribute("aria-label", `Seite ${page.number}${hits ? `, ${hits} Treffer` : ""}`);
      }
    }
    info.textContent = total
      ? `${label}: ${total} Treffer auf ${pages} ${pages === 1 ? "Seite" : "Seiten"}`
      : `${label}: keine Treffer in diesem Dokument`;
    info.hidden = false;
  }

  // --- loading a document --------------------------------------------------------------

  function reset() {
    state.generation += 1;
    state.doc = null;
    state.zoom = 1;
    state.rotation = new Map();
    state.words = new Map();
    state.kept = [];
    state.thumbsBuilt = false;
    thumbs.replaceChildren();
    marks.replaceChildren();
    $("hit-info").hidden = true;
    sheetBox.hidden = true;
    renderHeader();
    renderPagePosition();
  }

  async function openDocument(id, page, terms) {
    const wanted = String(id || "").trim().toLowerCase();
    if (wanted && wanted === state.id && state.doc) {
      setTerms(terms);
      showPage(page || state.page);
      countHits();
      return;
    }
    reset();
    state.id = wanted || null;
    state.terms = (terms || []).map(String).filter((t) => t.trim());
    if (!UUID.test(wanted)) {
      image.removeAttribute("src");
      showMessage(MESSAGES[404]);
      return;
    }
    const generation = state.generation;
    showMessage("Dokument wird geladen …");
    // Start on the page image at once, while the document's details are on their way.
    sheetBox.classList.add("loading");
    image.src = `/api/documents/${wanted}/pages/${page || 1}/image`;
    try {
      const doc = await getJson(`/api/documents/${wanted}/view`);
      if (generation !== state.generation) return;
      state.doc = doc;
    } catch (error) {
      if (generation !== state.generation) return;
      image.removeAttribute("src");
      showMessage(error.message, { login: error.status === 401 });
      return;
    }
    renderHeader();
    if (!state.doc.page_count) {
      showMessage("Das Dokument hat (noch) keine Seiten.");
      renderPagePosition();
      return;
    }
    showPage(page || 1);
  }

  function setTerms(terms) {
    state.terms = (terms || []).map(String).filter((t) => t.trim());
  }

  // --- controls ------------------------------------------------------------------------

  function zoomBy(direction) {
    if (direction === 0) {
      setZoom(1);
    } else if (direction > 0) {
      setZoom(ZOOMS.find((z) => z > state.zoom + 1e-6) || ZOOMS[ZOOMS.length - 1]);
    } else {
      setZoom([...ZOOMS].reverse().find((z) => z < state.zoom - 1e-6) || ZOOMS[0]);
    }
  }

  function setZoom(zoom) {
    if (!state.doc) return;
    // Keep the middle of what is on screen in the middle.
    const x = (stage.scrollLeft + stage.clientWidth / 2) / Math.max(1, stage.scrollWidth);
    const y = (stage.scrollTop + stage.clientHeight / 2) / Math.max(1, stage.scrollHeight);
    state.zoom = zoom;
    layout();
    stage.scrollLeft = x * stage.scrollWidth - stage.clientWidth / 2;
    stage.scrollTop = y * stage.scrollHeight - stage.clientHeight / 2;
  }

  function rotate(degrees) {
    if (!state.doc) return;
    const now = state.rotation.get(state.page) || 0;
    state.rotation.set(state.page, (now + degrees + 360) % 360);
    layout();
  }

  function step(delta, options) {
    if (!state.doc) return;
    const target = state.page + delta;
    if (target >= 1 && target <= state.doc.page_count) showPage(target, options);
  }

  function toggleHelp(show = help.hidden) {
    help.hidden = !show;
    if (show) {
      toggleHelp.returnTo = document.activeElement;
      $("help-close").focus();
    } else if (toggleHelp.returnTo && toggleHelp.returnTo.focus) {
      toggleHelp.returnTo.focus();
    }
  }

  // --- the history (Verlauf) beside the page --------------------------------------------

  async function loadHistory() {
    const list = $("history-list");
    const status = $("history-status");
    list.replaceChildren();
    if (!state.doc) return;
    const generation = state.generation;
    status.textContent = "Verlauf wird geladen …";
    try {
      const body = await getJson(`/api/documents/${encodeURIComponent(state.doc.id)}/history`);
      if (generation !== state.generation) return;
      list.replaceChildren(...body.entries.map((entry) => {
        const item = document.createElement("li");
        const when = document.createElement("span");
        when.className = "when";
        when.textContent = `${entry.when} · ${entry.who}`;
        const what = document.createElement("strong");
        what.textContent = entry.label;
        item.append(when, what);
        if (entry.particulars) item.append(`: ${entry.particulars}`);
        return item;
      }));
      status.textContent = body.entries.length ? "" : "Noch nichts verzeichnet.";
    } catch (error) {
      if (generation === state.generation) status.textContent = error.message;
    }
  }

  function toggleHistory() {
    historyPanel.hidden = !historyPanel.hidden;
    $("history-toggle").setAttribute("aria-expanded", historyPanel.hidden ? "false" : "true");
    if (!historyPanel.hidden) loadHistory();
    layout();
  }

  $("history-toggle").addEventListener("click", toggleHistory);
  $("prev-page").addEventListener("click", () => step(-1));
  $("next-page").addEventListener("click", () => step(1));
  $("zoom-in").addEventListener("click", () => zoomBy(1));
  $("zoom-out").addEventListener("click", () => zoomBy(-1));
  $("zoom-reset").addEventListener("click", () => zoomBy(0));
  $("rotate-left").addEventListener("click", () => rotate(-90));
  $("rotate-right").addEventListener("click", () => rotate(90));
  $("help-button").addEventListener("click", () => toggleHelp(true));
  if ($("register-letter")) {
    $("register-letter").addEventListener("click", () => {
      if (state.doc && window.EAkteLegal) window.EAkteLegal.register(state.id);
    });
  }
  $("help-close").addEventListener("click", () => toggleHelp(false));
  help.addEventListener("click", (event) => {
    if (event.target === help) toggleHelp(false);
  });
  for (const id of ["download", "print", "doc-page"]) {
    $(id).addEventListener("click", (event) => {
      if ($(id).getAttribute("aria-disabled") === "true") event.preventDefault();
    });
  }

  const SCROLL_STEP = 80;

  document.addEventListener("keydown", (event) => {
    if (!help.hidden) {
      if (event.key === "Escape" || event.key === "?") {
        event.preventDefault();
        toggleHelp(false);
      }
      return;
    }
    if (!shortcutAllowed(event)) return;
    const atTop = stage.scrollTop <= 1;
    const atBottom = stage.scrollTop + stage.clientHeight >= stage.scrollHeight - 1;
    switch (event.key) {
      case "PageDown":
      case "ArrowRight":
        step(1);
        break;
      case "PageUp":
      case "ArrowLeft":
        step(-1);
        break;
      case "ArrowDown":
        if (atBottom) step(1);
        else stage.scrollBy({ top: SCROLL_STEP });
        break;
      case "ArrowUp":
        if (atTop) step(-1, { toEnd: true });
        else stage.scrollBy({ top: -SCROLL_STEP });
        break;
      case "Home":
        if (state.doc) showPage(1);
        break;
      case "End":
        if (state.doc) showPage(state.doc.page_count);
        break;
      case "+":
      case "=":
        zoomBy(1);
        break;
      case "-":
        zoomBy(-1);
        break;
      case "0":
        zoomBy(0);
        break;
      case "r":
        rotate(90);
        break;
      case "R":
        rotate(-90);
        break;
      case "?":
        toggleHelp(true);
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  if ("ResizeObserver" in window) new ResizeObserver(() => layout()).observe(stage);
  else window.addEventListener("resize", layout);

  // --- the main window -----------------------------------------------------------------

  const channel = "BroadcastChannel" in window ? new BroadcastChannel(CHANNEL) : null;
  if (channel) {
    channel.addEventListener("message", (event) => {
      const data = event.data;
      if (!data || typeof data !== "object") return;
      if (data.type === "ping") {
        channel.postMessage({ type: "pong", documentId: state.id });
      } else if (data.type === "show" && typeof data.documentId === "string") {
        const page = Number.parseInt(data.page, 10);
        const terms = Array.isArray(data.terms) ? data.terms : [];
        openDocument(data.documentId, Number.isFinite(page) ? page : null, terms);
      }
    });
    window.addEventListener("pagehide", () => channel.postMessage({ type: "viewer-closed" }));
  }

  // --- start ---------------------------------------------------------------------------

  const serverError = document.body.dataset.error;
  const params = new URLSearchParams(window.location.search);
  if (serverError) {
    showMessage(serverError);
  } else if (params.get("doc")) {
    const page = Number.parseInt(params.get("page") || "", 10);
    const terms = (params.get("q") || "").replace(/["„“]/g, " ").split(/\s+/);
    openDocument(params.get("doc"), Number.isFinite(page) ? page : null, terms);
  } else {
    showMessage(
      "Kein Dokument ausgewählt. Wählen Sie im Hauptfenster ein Dokument aus – es erscheint dann hier.",
    );
  }
  stage.focus({ preventScroll: true });
  if (channel) channel.postMessage({ type: "viewer-ready", documentId: state.id });
})();
