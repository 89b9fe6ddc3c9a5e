"use strict";

// The E-Akte of one household: documents by type or as a timeline, details, notes, uploads.
const akte = { bg: document.getElementById("akte").dataset.bg, data: null, view: "by_type", cursor: -1, types: [], pending: null, uploads: new Set(), loads: 0 };
// live.js (an ES module, loaded at the start): the file follows what changes in it.
let live = null;

// A letter read before (issue 15): linked to the earlier one where the user may see it.
function duplicateBadge(mark) {
  if (!mark) return "";
  return mark.earlier_id
    ? html` <a class="badge duplicate" href="${uri`/dokument/${mark.earlier_id}`}">Duplikat: ${mark.text}</a>`
    : html` <span class="badge duplicate">${mark.text}</span>`;
}

function documentRow(doc) {
  const out = doc.direction === "out" ? html`<span class="badge">Postausgang ${germanDate(doc.dispatch_date)}</span>` : "";
  return html`<li class="document" data-id="${doc.id}" tabindex="-1">
    <span class="date">${germanDate(doc.receipt_date)}</span>
    <span class="type">${doc.doc_type_name}</span> ${out}${duplicateBadge(doc.duplicate)}
    <span class="hint">${doc.sender || doc.source_name} · ${doc.pages} S.${doc.letter_date ? ` · Schreiben vom ${germanDate(doc.letter_date)}` : ""}</span>
    <span class="actions">
      <button type="button" class="secondary" data-act="show">Anzeigen</button>
      <button type="button" class="secondary" data-act="details">Angaben</button>
      <a href="${`${uri`/dokument/${doc.id}`}?liste=akte&ansicht=${akte.view}`}">Dokumentseite</a>
      <a href="${uri`/api/documents/${doc.id}/pdf`}">Herunterladen</a> <a href="${uri`/dokument/${doc.id}/seiten`}">Seiten bearbeiten</a>
      <a href="${uri`/api/documents/${doc.id}/pdf`}?inline=1" target="_blank" rel="noopener">Drucken</a>
    </span></li>`;
}

function render() {
  const data = akte.data;
  const members = data.members.map((m, index) =>
    html`${index ? ", " : ""}${m.first_name} ${m.last_name}${m.birth_date ? ` (geb. ${germanDate(m.birth_date)})` : ""}`);
  setHtml(document.getElementById("household"), html`
    <p><strong>${members}</strong></p>
    <p>${data.address.street}, ${data.address.postcode} ${data.address.town}${data.active ? "" : html` · <strong>nicht mehr aktiv</strong>`}</p>
    <p class="hint">Sachbearbeitung: ${data.caseworker ? data.caseworker.name : "–"} · Fallmanagement: ${data.case_manager ? data.case_manager.name : "–"}</p>`);
  const container = document.getElementById("documents");
  // Groups the user closed stay closed when the list is drawn anew.
  const closed = new Set([...container.querySelectorAll("details.group:not([open])")].map((group) => group.dataset.type));
  if (!data.timeline.length) {
    setHtml(container, html`<p>Noch keine Dokumente in dieser Akte.</p>`);
  } else if (akte.view === "timeline") {
    setHtml(container, html`<ul class="documents">${data.timeline.map(documentRow)}</ul>`);
  } else {
    setHtml(container, html`${data.by_type.map((group) => html`<details${closed.has(group.name) ? "" : html` open`} class="group" data-type="${group.name}"><summary>${group.name} (${group.documents.length})</summary>
      <ul class="documents">${group.documents.map(documentRow)}</ul></details>`)}`);
  }
  const none = (text) => html`<li class="hint">${text}</li>`;
  setHtml(document.getElementById("notes"), data.notes.length ? html`${data.notes.map((n) =>
    html`<li><span class="hint">${new Date(n.created_at).toLocaleString("de-DE")} · ${n.author}${n.document_id ? " · zum Dokument" : ""}</span><div>${n.text}</div></li>`)}` : none("Keine Vermerke."));
  const legal = document.getElementById("legal");
  legal.hidden = !data.objections.length && !data.appeals.length;
  const states = { eingegangen: "eingegangen", in_bearbeitung: "in Bearbeitung", abhilfe: "Abhilfe",
    teilabhilfe: "Teilabhilfe", zurueckgewiesen: "zurückgewiesen", zurueckgenommen: "zurückgenommen" };
  setHtml(document.getElementById("objections"), data.objections.length ? html`${data.objections.map((o) =>
    html`<li><a href="${uri`/widersprueche/${o.id}`}">Widerspruch Nr. ${o.id}</a> · Eingang ${germanDate(o.receipt_date)} · ${states[o.status] || o.status}</li>`)}` : none("Keine."));
  setHtml(document.getElementById("appeals"), data.appeals.length ? html`${data.appeals.map((a) =>
    html`<li><a href="${uri`/klagen/${a.id}`}">${a.court}, Az. ${a.file_reference}</a> · zugestellt ${germanDate(a.served_on)} · ${a.status === "anhaengig" ? "anhängig" : "erledigt"}</li>`)}` : none("Keine."));
  const bases = { sgg_104: "§ 104 SGG", sgb_x_25: "§ 25 SGB X", pruefung: "Prüfung" };
  setHtml(document.getElementById("exports"), data.exports.length ? html`${data.exports.map((e) =>
    html`<li><span class="hint">${new Date(e.created_at).toLocaleString("de-DE")} · ${e.created_by_name}</span>
      <div>Aktenauszug Nr. ${e.id} an ${e.recipient} (${bases[e.legal_basis] || e.legal_basis}): ${e.documents} Dokumente${e.withheld ? `, ${e.withheld} zurückgehalten` : ""}, ${e.pages} Blatt ·
      <a href="${e.pdf_url}">PDF herunterladen</a></div>
      <div class="hint">SHA-256 <code class="hash">${e.sha256}</code></div></li>`)}` : none("Noch keine Aktenauszüge."));
  container.querySelectorAll("li.document").forEach((row) => row.addEventListener("focusin", () => {
    // The document whose button or link has focus is the one the shortcuts act on.
    akte.cursor = rows().indexOf(row);
    mark();
  }));
  container.querySelectorAll("li.document").forEach((row) => row.addEventListener("click", (event) => {
    const id = row.dataset.id;
    akte.cursor = rows().indexOf(row);
    mark();
    if (event.target.dataset.act === "show") window.EAkteViewer.show(id, { page: 1 });
    if (event.target.dataset.act === "details") editDetails(id);
  }));
  mark();
}

function rows() {
  return [...document.querySelectorAll("#documents li.document")];
}

function mark() {
  rows().forEach((row, index) => {
    row.classList.toggle("cursor", index === akte.cursor);
    if (index === akte.cursor) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
  });
}

function move(step) {
  const all = rows();
  if (!all.length) return;
  akte.cursor = Math.max(0, Math.min(all.length - 1, akte.cursor + step));
  mark();
  all[akte.cursor].scrollIntoView({ block: "nearest" });
  const id = all[akte.cursor].dataset.id;
  window.EAkteViewer.isOpen().then((open) => { if (open) window.EAkteViewer.show(id, { page: 1 }); });
}

function fetchFile(background = false) {
  return api(`/api/households/${encodeURIComponent(akte.bg)}/file`, background ? { headers: live.BACKGROUND } : {});
}

async function load() {
  try {
    akte.loads += 1;
    show(await fetchFile());
  } catch (error) {
    document.getElementById("akte-status").textContent = error.message;
  }
}

function show(data) {
  akte.data = data;
  akte.pending = null;
  if (live) live.notice(document.getElementById("akte-live"), "");
  render();
}

// The documents in the order the current view lists them.
function order(data) {
  return akte.view === "timeline" ? data.timeline.map((d) => d.id) : data.by_type.flatMap((g) => g.documents.map((d) => d.id));
}

// Something changed in the file (live.js asked): drawn anew at once unless that moves the
// document the user is on; then a quiet notice offers it. New documents are announced, an
// upload of this page said to be in the file.
async function liveChange() {
  const loads = akte.loads;
  const data = await fetchFile(true);
  // The page loaded the file itself meanwhile (a note, changed details): that is the newer.
  if (loads !== akte.loads || JSON.stringify(data) === JSON.stringify(akte.data)) return;
  const before = akte.data ? order(akte.data) : [];
  const after = order(data);
  const known = new Set(before);
  const added = data.timeline.filter((d) => !known.has(d.id));
  const all = rows();
  const on = akte.cursor >= 0 && all[akte.cursor] ? all[akte.cursor].dataset.id : null;
  const names = added.map((d) => `${d.doc_type_name} (${d.source_name})`).join(", ");
  const arrived = added.length === 1 ? `Neu in der Akte: ${names}` : `${added.length} neue Dokumente in der Akte: ${names}`;
  for (const doc of added) {
    if (akte.uploads.delete(doc.source_name)) document.getElementById("upload-status").textContent = `${doc.source_name}: in der Akte abgelegt.`;
  }
  if (!on || after.indexOf(on) === before.indexOf(on)) {
    live.keepFocus(document.getElementById("documents"), "li.document", () => show(data));
    if (on) akte.cursor = rows().findIndex((row) => row.dataset.id === on);
    mark();
    if (added.length) live.notice(document.getElementById("akte-live"), `${arrived}.`);
    return;
  }
  akte.pending = data;
  const text = added.length ? arrived : "Die Akte hat sich geändert";
  live.notice(document.getElementById("akte-live"), text, "anzeigen", () => {
    if (!akte.pending) return;
    show(akte.pending);
    akte.cursor = added.length ? rows().findIndex((row) => row.dataset.id === added[0].id) : rows().findIndex((row) => row.dataset.id === on);
    mark();
    const row = rows()[akte.cursor];
    if (row) { row.focus(); row.scrollIntoView({ block: "nearest" }); }
  });
}

async function editDetails(id) {
  const details = await api(uri`/api/documents/${id}/details`);
  const dialog = document.getElementById("details-dialog");
  const form = document.getElementById("details-form");
  const select = form.elements.doc_type;
  if (!select.options.length) for (const type of akte.types) select.append(new Option(type.name, type.code));
  akte.editing = { id, details };
  clearFieldErrors(form);
  select.value = details.doc_type || "sonstiges";
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
  await load();
}

dialogForm(document.getElementById("details-form"), checkDetails, saveDetails, {
  receipt_date_reason: "reason",
  date: (data) => (data.receipt_date !== akte.editing.details.receipt_date ? "receipt_date" : "letter_date"),
  doc_type_unknown: "doc_type",
  note_empty: "note",
  note_long: "note",
});

// The two views are tabs (WAI-ARIA tabs pattern): the selected one is in the tab order, the
// arrow keys, Home and End move between them.
const viewTabs = [...document.querySelectorAll("[data-view]")];

function selectView(tab) {
  akte.view = tab.dataset.view;
  viewTabs.forEach((t) => {
    t.classList.toggle("active", t === tab);
    t.setAttribute("aria-selected", t === tab ? "true" : "false");
    t.tabIndex = t === tab ? 0 : -1;
  });
  akte.cursor = -1;
  if (akte.data) render();
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

document.getElementById("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  try {
    await api(`/api/households/${encodeURIComponent(akte.bg)}/notes`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: form.elements.text.value }),
    });
    form.reset();
    await load();
  } catch (error) {
    document.getElementById("akte-status").textContent = error.message;
  }
});

document.getElementById("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const status = document.getElementById("upload-status");
  status.textContent = "wird hochgeladen …";
  try {
    const body = await api(`/api/households/${encodeURIComponent(akte.bg)}/documents`, { method: "POST", body: new FormData(form) });
    status.textContent = `${body.source_name}: angenommen, wird verarbeitet und dann in dieser Akte abgelegt.`;
    akte.uploads.add(body.source_name);
    form.reset();
  } catch (error) {
    status.textContent = error.message;
  }
});

document.getElementById("open-viewer").addEventListener("click", () => window.EAkteViewer.open());
document.getElementById("show-help").addEventListener("click", () => document.getElementById("help").showModal());
document.addEventListener("keydown", (event) => {
  if (!shortcutAllowed(event)) return;
  const all = rows();
  const id = akte.cursor >= 0 && all[akte.cursor] ? all[akte.cursor].dataset.id : null;
  const keys = {
    ArrowDown: () => move(1), j: () => move(1), ArrowUp: () => move(-1), k: () => move(-1),
    Enter: () => id && window.EAkteViewer.show(id, { page: 1 }),
    v: () => window.EAkteViewer.open(),
    "?": () => document.getElementById("help").showModal(),
  };
  if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
});

document.addEventListener("DOMContentLoaded", async () => {
  akte.types = (await api("/api/doctypes")).doctypes;
  live = await import("/static/live.js");
  // The file about to be loaded is the state the first answer stands for.
  await live.watch(`/api/households/${encodeURIComponent(akte.bg)}/file/changes`, liveChange, {
    onEnd: (message) => live.notice(document.getElementById("akte-live"), message, "neu anmelden", live.logInAgain),
  }).ready;
  await load();
});
