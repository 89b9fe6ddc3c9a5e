"use strict";

// The E-Akte of one household. The server renders its lists (web/akte_pages.py: every label,
// date and state in German); this script keeps the page's address (tab, filter, order, the
// selected document), fetches the parts for a changed view or a change in the file and swaps
// them in, and handles the keys, the viewer, the "Angaben" dialog, notes, uploads and views.
const akte = { bg: document.getElementById("akte").dataset.bg, cursor: -1, uploads: new Set(), asked: 0, shown: 0, pending: null, last: null };
// live.js (an ES module, loaded at the start): the file follows what changes in it.
let live = null;

function rows() {
  return [...document.querySelectorAll("#documents li.document")];
}

function currentId() {
  const row = rows()[akte.cursor];
  return akte.cursor >= 0 && row ? row.dataset.id : null;
}

// The row the shortcuts act on: marked for the eye and for screen readers, kept in the address.
function mark() {
  rows().forEach((row, index) => {
    row.classList.toggle("cursor", index === akte.cursor);
    if (index === akte.cursor) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
  });
  const id = currentId();
  if (id) setAddress({ doc: id });
}

// --- the address: tab, filter, order and the selected document (reload and Back keep them) ---

function setAddress(changes) {
  const query = new URLSearchParams(window.location.search);
  for (const [name, value] of Object.entries(changes)) {
    if (value) query.set(name, value); else query.delete(name);
  }
  query.delete("gespeichert");
  const text = query.toString();
  const suffix = text ? `?${text}` : "";
  if (suffix !== window.location.search) window.history.replaceState(null, "", `${window.location.pathname}${suffix}`);
  document.getElementById("note-form").action = `${uri`/akte/${akte.bg}/vermerke`}${suffix}`;
}

// The parts for the tab, filter and order in the address; the selected row is marked here
// (moving it while an answer is on its way must not make that answer out of date).
function partsUrl() {
  const query = new URLSearchParams(window.location.search);
  query.delete("gespeichert");
  query.delete("doc");
  const text = query.toString();
  return `${uri`/akte/${akte.bg}/liste`}${text ? `?${text}` : ""}`;
}

// --- the server's parts: fetched, swapped in without losing the user's place -------------------

// The server's parts (format.js's fetchPart); a page the script asked for by itself is marked
// as no activity of the user's.
async function fetchParts(url, background) {
  const answer = await fetchPart(url, { headers: background && live ? live.BACKGROUND : {} });
  if (answer.status !== 200 || !answer.body) {
    return { error: answer.loggedOut || answer.status === 0 || answer.status >= 400 ? answer.error : "Die Akte konnte nicht geladen werden." };
  }
  return { body: answer.body };
}

// What an answer says, to tell whether a later one says anything new (read, never written).
function markup(body) {
  return new XMLSerializer().serializeToString(body);
}

// Each part of the answer replaces the content of the page's element with the same id. The
// list is drawn anew keeping the focused control and its row's place (live.keepFocus); groups
// the user closed stay closed; the filter is left alone while the user is in it.
function swap(body) {
  const closed = new Set([...document.querySelectorAll("#documents details.group:not([open])")].map((group) => group.dataset.type));
  const keep = live ? live.keepFocus : (container, selector, draw) => draw();
  for (const source of [...body.querySelectorAll("[data-region]")]) {
    const target = document.getElementById(source.id);
    if (!target || (source.id === "akte-filter" && target.contains(document.activeElement))) continue;
    const draw = () => {
      target.replaceChildren(...source.childNodes);
      target.hidden = source.hidden;
    };
    if (source.id === "documents") keep(target, "li.document", draw); else draw();
  }
  for (const group of document.querySelectorAll("#documents details.group")) {
    if (closed.has(group.dataset.type)) group.open = false;
  }
  const selected = new URLSearchParams(window.location.search).get("doc");
  akte.cursor = rows().findIndex((row) => row.dataset.id === selected);
  mark();
}

// The parts for the address as it is now. An answer is shown only if the address is still the
// one asked for and no later answer was shown already: a slow answer for the old tab or filter
// never replaces the list of a newer one.
async function reload() {
  const ticket = ++akte.asked;
  const url = partsUrl();
  akte.pending = null;
  const answer = await fetchParts(url, false);
  if (url !== partsUrl() || ticket < akte.shown) return;
  if (answer.error) { document.getElementById("akte-status").textContent = answer.error; return; }
  akte.shown = ticket;
  akte.last = markup(answer.body);
  if (live) live.notice(document.getElementById("akte-live"), "");
  swap(answer.body);
}

function focusRow(id) {
  akte.cursor = rows().findIndex((row) => row.dataset.id === id);
  mark();
  const row = rows()[akte.cursor];
  if (row) { row.focus(); row.scrollIntoView({ block: "nearest" }); }
}

// Something changed in the file (live.js asked): drawn anew at once unless that moves the
// document the user is on; then a quiet notice offers it. New documents are announced, an
// upload of this page said to be in the file.
async function liveChange() {
  const ticket = ++akte.asked;
  const url = partsUrl();
  const answer = await fetchParts(url, true);
  if (answer.error) throw new Error(answer.error);
  // The page asked for newer parts itself meanwhile (a note, a tab): those are shown.
  if (url !== partsUrl() || ticket !== akte.asked || markup(answer.body) === akte.last) return;
  const before = rows().map((row) => row.dataset.id);
  const arrived = [...answer.body.querySelectorAll("#documents li.document")];
  const after = arrived.map((row) => row.dataset.id);
  const known = new Set(before);
  const added = arrived.filter((row) => !known.has(row.dataset.id));
  const on = currentId();
  const names = added.map((row) => row.dataset.announce).join(", ");
  const news = added.length === 1 ? `Neu in der Akte: ${names}` : `${added.length} neue Dokumente in der Akte: ${names}`;
  for (const row of added) {
    if (akte.uploads.delete(row.dataset.source)) document.getElementById("upload-status").textContent = `${row.dataset.source}: in der Akte abgelegt.`;
  }
  const region = document.getElementById("akte-live");
  if (!on || after.indexOf(on) === before.indexOf(on)) {
    akte.shown = ticket;
    akte.last = markup(answer.body);
    swap(answer.body);
    if (added.length) live.notice(region, `${news}.`);
    return;
  }
  akte.pending = { url, body: answer.body, html: markup(answer.body) };
  live.notice(region, added.length ? news : "Die Akte hat sich geändert", "anzeigen", () => {
    const pending = akte.pending;
    if (!pending || pending.url !== partsUrl()) return;
    akte.pending = null;
    akte.last = pending.html;
    live.notice(region, "");
    swap(pending.body);
    focusRow(added.length ? added[0].dataset.id : on);
  });
}

// --- the list: rows, tabs, filter -----------------------------------------------------------

function move(step) {
  const all = rows();
  if (!all.length) return;
  akte.cursor = Math.max(0, Math.min(all.length - 1, akte.cursor + step));
  mark();
  all[akte.cursor].scrollIntoView({ block: "nearest" });
  const id = all[akte.cursor].dataset.id;
  window.EAkteViewer.isOpen().then((open) => { if (open) window.EAkteViewer.show(id, { page: 1 }); });
}

const documents = document.getElementById("documents");
documents.addEventListener("focusin", (event) => {
  // The document whose button or link has focus is the one the shortcuts act on.
  const row = event.target.closest("li.document");
  if (!row) return;
  akte.cursor = rows().indexOf(row);
  mark();
});
documents.addEventListener("click", (event) => {
  const row = event.target.closest("li.document");
  if (!row) return;
  akte.cursor = rows().indexOf(row);
  mark();
  const act = event.target.closest("[data-act]");
  if (act && act.dataset.act === "show") window.EAkteViewer.show(row.dataset.id, { page: 1 });
  if (act && act.dataset.act === "details") editDetails(row.dataset.id);
});

// The two views are tabs (WAI-ARIA tabs pattern): the selected one is in the tab order, the
// arrow keys, Home and End move between them.
const viewTabs = [...document.querySelectorAll("[data-view]")];

function selectView(tab) {
  viewTabs.forEach((t) => {
    t.classList.toggle("active", t === tab);
    t.setAttribute("aria-selected", t === tab ? "true" : "false");
    t.tabIndex = t === tab ? 0 : -1;
  });
  documents.setAttribute("aria-labelledby", tab.id);
  const filter = document.getElementById("akte-filter");
  if (filter.elements.tab) filter.elements.tab.value = tab.dataset.view;
  setAddress({ tab: tab.dataset.view });
  reload();
}

viewTabs.forEach((tab, index) => {
  tab.addEventListener("click", () => selectView(tab));
  tab.addEventListener("keydown", (event) => {
    const target = { ArrowRight: index + 1, ArrowDown: index + 1, ArrowLeft: index - 1, ArrowUp: index - 1, Home: 0, End: viewTabs.length - 1 }[event.key];
    if (target === undefined) return;
    event.preventDefault();
    const next = viewTabs[(target + viewTabs.length) % viewTabs.length];
    selectView(next);
    next.focus();
  });
});

function filterChanged(event) {
  event.preventDefault();
  const filter = new FormData(document.getElementById("akte-filter"));
  setAddress({ doc_type: filter.get("doc_type"), sort: filter.get("sort") });
  reload();
}
document.getElementById("akte-filter").addEventListener("change", filterChanged);
document.getElementById("akte-filter").addEventListener("submit", filterChanged);

// --- the "Angaben" dialog -------------------------------------------------------------------

async function editDetails(id) {
  const details = await api(uri`/api/documents/${id}/details`);
  const dialog = document.getElementById("details-dialog");
  const form = document.getElementById("details-form");
  akte.editing = { id, details };
  clearFieldErrors(form);
  form.elements.doc_type.value = details.doc_type || "sonstiges";
  form.elements.sender.value = details.sender || "";
  form.elements.letter_date.value = details.letter_date || "";
  form.elements.receipt_date.value = details.receipt_date || "";
  form.elements.reason.value = "";
  form.elements.note.value = "";
  form.querySelector(".error").textContent = "";
  dialog.showModal();
}

// What the "Angaben" dialog refuses before sending; the server's own checks land on the same
// fields. The dialog stays open with what was typed until the details are saved.
function checkDetails(data) {
  const errors = {};
  const changed = data.receipt_date && data.receipt_date !== akte.editing.details.receipt_date;
  if (!data.receipt_date && akte.editing.details.receipt_date) errors.receipt_date = "Bitte ein Eingangsdatum angeben.";
  for (const name of ["letter_date", "receipt_date"]) {
    if (data[name] && data[name] > todayIso()) errors[name] = "Ein Datum in der Zukunft ist nicht möglich.";
  }
  if (changed && !(data.reason || "").trim()) {
    errors.reason = "Bitte begründen, warum das Eingangsdatum geändert wird: es entscheidet über Fristen (z. B. »Eingangsstempel vom …«).";
  }
  return errors;
}

async function saveDetails(data) {
  const { id, details } = akte.editing;
  const changes = { doc_type: data.doc_type, sender: data.sender || null };
  if (data.letter_date) changes.letter_date = data.letter_date;
  if (data.receipt_date && data.receipt_date !== details.receipt_date) {
    changes.receipt_date = data.receipt_date;
    changes.reason = data.reason;
  }
  await api(uri`/api/documents/${id}`, { method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify(changes) });
  akte.editing.details = { ...details, ...changes };
  if (data.note) await api(uri`/api/documents/${id}/notes`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: data.note }) });
  document.getElementById("akte-status").textContent = "Angaben gespeichert.";
  await reload();
}

dialogForm(document.getElementById("details-form"), checkDetails, saveDetails, {
  receipt_date_reason: "reason",
  date: (data) => (data.receipt_date !== akte.editing.details.receipt_date ? "receipt_date" : "letter_date"),
  doc_type_unknown: "doc_type",
  note_empty: "note",
  note_long: "note",
});

// --- notes and uploads ----------------------------------------------------------------------

// Without the script the form posts to the page (web/akte_pages.py); with it, the note goes to
// the API and the list is drawn anew. An error stands at the field, the text stays.
document.getElementById("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const text = form.elements.text.value;
  if (!text.trim()) { showFieldErrors(form, { text: form.dataset.empty }); return; }
  try {
    await api(uri`/api/households/${akte.bg}/notes`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text }),
    });
    clearFieldErrors(form);
    form.reset();
    form.elements.text.value = "";
    await reload();
  } catch (error) {
    showFieldErrors(form, { text: error.message });
  }
});

document.getElementById("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const status = document.getElementById("upload-status");
  status.textContent = "wird hochgeladen …";
  try {
    const body = await api(uri`/api/households/${akte.bg}/documents`, { method: "POST", body: new FormData(form) });
    status.textContent = `${body.source_name}: angenommen, wird verarbeitet und dann in dieser Akte abgelegt.`;
    akte.uploads.add(body.source_name);
    form.reset();
  } catch (error) {
    status.textContent = error.message;
  }
});

// --- saved views: tab, filter and order under a name of the user's own (format.js) -----------

savedViews("akte", reload);

// --- keys and the viewer --------------------------------------------------------------------

document.getElementById("open-viewer").addEventListener("click", () => window.EAkteViewer.open());
document.getElementById("show-help").addEventListener("click", () => document.getElementById("help").showModal());
document.addEventListener("keydown", (event) => {
  if (!shortcutAllowed(event)) return;
  const id = currentId();
  const keys = {
    ArrowDown: () => move(1), j: () => move(1), ArrowUp: () => move(-1), k: () => move(-1),
    Enter: () => id && window.EAkteViewer.show(id, { page: 1 }),
    v: () => window.EAkteViewer.open(),
    "?": () => document.getElementById("help").showModal(),
  };
  if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
});

// The first paint came with the page; the selected document (from the address) is in view.
akte.cursor = rows().findIndex((row) => row.getAttribute("aria-current") === "true");
if (akte.cursor >= 0) rows()[akte.cursor].scrollIntoView({ block: "center" });

document.addEventListener("DOMContentLoaded", async () => {
  live = await import("/static/live.js");
  const changes = uri`/api/households/${akte.bg}/file/changes`;
  // The page was drawn with the state named in data-token: what changes after that is shown.
  await live.watch(changes, liveChange, {
    since: document.getElementById("akte").dataset.token,
    onEnd: (message) => live.notice(document.getElementById("akte-live"), message, "neu anmelden", live.logInAgain),
  }).ready;
});
