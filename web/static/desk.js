// The desk's lists are rendered on the server (web/desk_pages.py, templates _desk_*.html): this
// script fetches them, swaps them in and sends the operator's decisions to the API. An ES module:
// live.js keeps the lists current.

import { getDocument, latest, loggedOut, watch } from "/static/live.js";

function uploadOne(file, station) {
  const item = document.createElement("li");
  item.textContent = `${file.name}: wird hochgeladen …`;
  document.getElementById("uploads").prepend(item);
  const form = new FormData();
  form.append("file", file);
  if (station) form.append("station", station);
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/api/documents");
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) {
        item.textContent = `${file.name}: ${Math.round((100 * event.loaded) / event.total)} % hochgeladen`;
      }
    };
    request.onload = () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch (error) { body = {}; }
      if (request.status === 201) {
        item.textContent = `${file.name}: angenommen, ${body.pages_total} Seite(n)`;
      } else {
        item.className = "rejected";
        item.textContent = `${file.name}: abgelehnt – ${(body.error && body.error.message) || request.status}`;
      }
      refreshAll();
      resolve();
    };
    request.onerror = () => {
      item.className = "rejected";
      item.textContent = `${file.name}: Verbindung unterbrochen, bitte erneut versuchen`;
      resolve();
    };
    request.send(form);
  });
}

async function uploadAll(files) {
  const station = document.getElementById("station").value.trim();
  for (const file of files) {
    await uploadOne(file, station);
  }
}

document.getElementById("verify").addEventListener("click", async () => {
  const status = document.getElementById("verify-status");
  status.textContent = "Prüfung läuft …";
  const started = await fetch("/api/verifications", { method: "POST", credentials: "same-origin" });
  const { job } = await started.json();
  const poll = async () => {
    const body = await (await fetch(uri`/api/jobs/${job.id}`, { credentials: "same-origin" })).json();
    if (body.state === "queued" || body.state === "running") { setTimeout(poll, 1000); return; }
    if (body.result && body.result.ok) {
      status.textContent = `Alle ${body.result.checked} gespeicherten Dateien sind unverändert.`;
    } else if (body.result) {
      status.className = "failed";
      status.textContent = `${body.result.problems.length} Abweichung(en): ` +
        body.result.problems.map((p) => `${p.object} (${p.problem})`).join("; ");
    } else {
      status.textContent = `Prüfung fehlgeschlagen: ${body.error || ""}`;
    }
  };
  poll();
});

// --- the server's partials: fetched, swapped in without losing focus, input or place -------

// Each part (#qa-part, #batches-part) names its partial (data-src) and the query keys that are
// its own (data-keys); the page's address keeps them, so a reload or Back shows the same.
const parts = [...document.querySelectorAll("[data-src]")];

function partUrl(part) {
  const own = new Set(part.dataset.keys.split(" "));
  const query = new URLSearchParams();
  for (const [key, value] of new URLSearchParams(window.location.search)) {
    if (own.has(key) && value) query.set(key, value);
  }
  const text = query.toString();
  return text ? `${part.dataset.src}?${text}` : part.dataset.src;
}

// What the operator is doing in a part survives a redraw: typed page counts, ticked boxes,
// the focused control (by id) and where its row stands on the screen.
function swap(part, body) {
  const focused = part.contains(document.activeElement) && document.activeElement.id
    ? document.activeElement : null;
  const anchor = focused ? focused.getBoundingClientRect().top : null;
  const kept = new Map();
  for (const field of part.querySelectorAll("input[id], select[id]")) {
    kept.set(field.id, field.type === "checkbox" ? field.checked : field.value);
  }
  // An entry's refusal stays on screen, with its field marked, until the operator acts again.
  const said = new Map([...part.querySelectorAll(".qa-error[id]")]
    .filter((line) => line.textContent).map((line) => [line.id, line.textContent]));
  const invalid = [...part.querySelectorAll("[aria-invalid=true][id]")].map((field) => field.id);
  part.replaceChildren(...body.childNodes);
  for (const [id, text] of said) {
    const line = document.getElementById(id);
    if (line && part.contains(line)) line.textContent = text;
  }
  for (const id of invalid) {
    const field = document.getElementById(id);
    if (field && part.contains(field)) field.setAttribute("aria-invalid", "true");
  }
  const changed = edited.get(part) || new Set();
  for (const [id, value] of kept) {
    const field = document.getElementById(id);
    if (!field || !part.contains(field)) continue;
    if (field.type === "checkbox") field.checked = value;
    // A filter shows what the list was asked with, unless the operator has just changed it
    // and not yet sent it: a refresh in between must not turn it back.
    else if ((field.tagName !== "SELECT" && field.type !== "date") || changed.has(id)) field.value = value;
  }
  if (focused) {
    const again = document.getElementById(focused.id);
    if (again && part.contains(again)) {
      again.focus({ preventScroll: true });
      window.scrollBy(0, again.getBoundingClientRect().top - anchor);
    } else {
      const heading = part.closest("section").querySelector("h2[tabindex]");
      if (heading) heading.focus({ preventScroll: true });
    }
  }
}

const live = document.getElementById("desk-live");
let lastNotice = 0;
function quietly(message) {
  // Quiet: at most one notice every 20 seconds, however often a batch's progress moves.
  if (!live || Date.now() - lastNotice < 20000) return;
  lastNotice = Date.now();
  const time = new Date().toLocaleTimeString("de-DE", { hour: "2-digit", minute: "2-digit" });
  live.textContent = `${message} (${time})`;
}

// The filter fields the operator changed since the part's list was last asked for (by id).
const edited = new Map();

// A part's answer drawn; `notice` when the list changed without the operator asking.
function show(part, page, notice = "") {
  const first = !part.querySelector("[id]");
  swap(part, page.body);
  if (notice && !first) quietly(notice);
}

// The page's own loads (a new filter, another page of the list, after a decision) go at once,
// beside the part's polls. Answers can overtake each other: each part's answers pass one
// `latest()`, so an answer for an older request (a slow answer for the old filter, a poll sent
// before the decision) never replaces the list of a newer one.
async function load(part) {
  const url = partUrl(part);
  let answer;
  try {
    answer = await part.ask(url, {});
  } catch (error) {
    quietly("Keine Verbindung zum Server.");
    return;
  }
  if (answer === null) return;
  if (!answer.document || loggedOut(answer)) {
    quietly(answer.status === 401 || loggedOut(answer)
      ? "Bitte neu anmelden." : "Die Liste konnte nicht geladen werden.");
    return;
  }
  show(part, answer.document);
  part.watcher.seen(url, answer);
}

function refreshAll() {
  for (const part of parts) part.watcher.poke();
}

// A filter or another page of a list: the address changes (replaceState) and the part reloads.
function go(part, query) {
  const own = part.dataset.keys.split(" ");
  const next = new URLSearchParams(window.location.search);
  for (const key of own) next.delete(key);
  for (const [key, value] of query) if (own.includes(key) && value) next.set(key, value);
  const text = next.toString();
  window.history.replaceState(null, "", text ? `/scanstelle?${text}` : "/scanstelle");
  edited.delete(part);
  load(part);
}

for (const part of parts) {
  part.dataset.notice = part.id === "qa-part"
    ? "Prüfliste aktualisiert" : "Stand der Stapel aktualisiert";
  part.addEventListener("change", (event) => {
    const field = event.target;
    if (field.id && (field.tagName === "SELECT" || field.type === "date")) {
      if (!edited.has(part)) edited.set(part, new Set());
      edited.get(part).add(field.id);
    }
  });
  part.addEventListener("submit", (event) => {
    if (!event.target.matches("form")) return;
    event.preventDefault();
    go(part, new FormData(event.target));
  });
  part.addEventListener("click", (event) => {
    const link = event.target.closest("a.page-link, a.batch-check");
    if (!link) return;
    event.preventDefault();
    const query = new URL(link.href).searchParams;
    const target = link.classList.contains("batch-check") ? document.getElementById("qa-part") : part;
    go(target, query);
    if (target !== part) document.getElementById("qa-heading").focus();
  });
}

// --- the quality check ---------------------------------------------------------------------

const qaPart = document.getElementById("qa-part");
const results = document.getElementById("qa-results");

async function postJson(url, payload) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, body };
}

function problem(body) {
  return (body.error && body.error.message) || "Fehler beim Speichern.";
}

function countedOf(entry) {
  const field = entry.querySelector(".counted");
  return field && field.value.trim() !== "" ? Number(field.value) : null;
}

function say(lines) {
  results.replaceChildren(...lines.map(([text, failed]) => {
    const item = document.createElement("li");
    item.textContent = text;
    if (failed) item.className = "failed";
    return item;
  }));
}

async function decideOne(entry, decision, note) {
  const payload = { decision };
  if (decision === "approve") payload.counted_pages = countedOf(entry);
  if (note) payload.note = note;
  const { ok, body } = await postJson(uri`/api/documents/${entry.dataset.id}/qa`, payload);
  return ok ? null : problem(body);
}

const WORDS = { approve: "freigegeben", reject: "zur Neuerfassung abgelehnt", undo: "Ablehnung zurückgenommen" };

async function decideAndShow(entry, decision, note) {
  const error = await decideOne(entry, decision, note);
  if (error) {
    entry.querySelector(".qa-error").textContent = error;
    const counted = entry.querySelector(".counted");
    if (counted && decision === "approve") {
      counted.setAttribute("aria-invalid", "true");
      counted.focus();
    }
    return error;
  }
  say([[`${entry.dataset.label}: ${WORDS[decision]}`, false]]);
  // The next entry takes the focus, so that the operator goes on from the keyboard.
  const next = entry.nextElementSibling || entry.previousElementSibling;
  const focusTo = next && (next.querySelector(".counted") || next.querySelector("button"));
  if (focusTo && focusTo.id) focusTo.focus();
  else document.getElementById("qa-heading").focus();
  await load(qaPart);
  return null;
}

// Rejecting opens a confirmation that wants a reason; it is stored and audited with the decision.
const rejectDialog = document.getElementById("reject-dialog");
let rejecting = null;

function openReject(entry) {
  rejecting = entry;
  document.getElementById("reject-what").textContent =
    `${entry.dataset.label} geht zur Neuerfassung zurück; wer es im Postkorb hat, liest den Grund.`;
  document.getElementById("reject-error").textContent = "";
  document.getElementById("reject-reason").value = "";
  document.getElementById("reject-reason").removeAttribute("aria-invalid");
  rejectDialog.showModal();
  document.getElementById("reject-reason").focus();
}

function closeReject() {
  const entry = rejecting;
  rejecting = null;
  rejectDialog.close();
  if (entry && document.getElementById(`reject-${entry.dataset.id}`)) {
    document.getElementById(`reject-${entry.dataset.id}`).focus();
  }
}

if (rejectDialog) {
  document.getElementById("reject-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!rejecting) return;
    const reason = document.getElementById("reject-reason");
    const entry = rejecting;
    const error = await decideOne(entry, "reject", reason.value.trim());
    if (error) {
      document.getElementById("reject-error").textContent = error;
      reason.setAttribute("aria-invalid", "true");
      reason.focus();
      return;
    }
    rejecting = null;
    rejectDialog.close();
    say([[`${entry.dataset.label}: ${WORDS.reject}`, false]]);
    const next = entry.nextElementSibling || entry.previousElementSibling;
    const focusTo = next && (next.querySelector(".counted") || next.querySelector("button"));
    if (focusTo) focusTo.focus(); else document.getElementById("qa-heading").focus();
    await load(qaPart);
  });
  document.getElementById("reject-cancel").addEventListener("click", closeReject);
  rejectDialog.addEventListener("cancel", (event) => { event.preventDefault(); closeReject(); });
}

async function approveSelected() {
  const picked = [...qaPart.querySelectorAll(".qa-pick:checked")].map((box) => box.closest(".qa-entry"));
  if (!picked.length) {
    say([["Bitte zuerst Dokumente auswählen.", true]]);
    return;
  }
  const documents = picked.map((entry) => ({ id: entry.dataset.id, counted_pages: countedOf(entry) }));
  const { ok, body } = await postJson("/api/qa-approvals", { documents });
  if (!ok) { say([[problem(body), true]]); return; }
  const labels = new Map(picked.map((entry) => [entry.dataset.id, entry.dataset.label]));
  say(body.results.map((result) => [`${labels.get(result.id)}: ${result.message}`, !result.approved]));
  document.getElementById("qa-heading").focus();
  await load(qaPart);
}

if (qaPart) {
  qaPart.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    const entry = event.target.closest(".qa-entry");
    if (button && entry) {
      entry.querySelector(".qa-error").textContent = "";
      const counted = entry.querySelector(".counted");
      if (counted) counted.removeAttribute("aria-invalid");
      if (button.classList.contains("approve")) decideAndShow(entry, "approve");
      if (button.classList.contains("reject")) openReject(entry);
      if (button.classList.contains("undo")) decideAndShow(entry, "undo");
    }
    if (event.target.id === "qa-approve-selected") approveSelected();
    const viewer = event.target.closest("a[target=eakte-viewer]");
    if (viewer && entry && window.EAkteViewer) {
      event.preventDefault();
      window.EAkteViewer.show(entry.dataset.id, { page: 1 });
    }
  });
  qaPart.addEventListener("change", (event) => {
    if (event.target.id === "qa-pick-all") {
      for (const box of qaPart.querySelectorAll(".qa-pick")) box.checked = event.target.checked;
    }
  });
  // Enter in a page count approves that entry.
  qaPart.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !event.target.classList.contains("counted")) return;
    event.preventDefault();
    const entry = event.target.closest(".qa-entry");
    entry.querySelector(".qa-error").textContent = "";
    decideAndShow(entry, "approve");
  });
}

// --- uploads (the desk only; the administration sees only the checksum check) --------------

const zone = document.getElementById("drop-zone");
if (zone) {
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    uploadAll([...event.dataTransfer.files]);
  });
  // From the keyboard the zone opens the file chooser, as its label says.
  zone.addEventListener("keydown", (event) => {
    if (event.target !== zone || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    document.getElementById("files").click();
  });
  document.getElementById("files").addEventListener("change", (event) => {
    uploadAll([...event.target.files]);
    event.target.value = "";
  });
}

// Live (live.js): each list is asked for at once and again every few seconds, at its address
// with the ETag of what it shows; an unchanged list costs a 304 (the server reads nothing but
// the list's change token) and nothing is redrawn. A changed one is swapped in without moving
// the row being worked on. The batches' progress every 2 seconds, the quality check every 6.
for (const part of parts) {
  part.ask = latest(getDocument);
  part.watcher = watch(() => partUrl(part), (page) => show(part, page, part.dataset.notice), {
    read: (answer) => answer.document,
    ask: part.ask,
    initial: true,
    seconds: part.id === "qa-part" ? 6 : 2,
    onError: quietly,
    onEnd: () => {
      for (const other of parts) other.watcher.stop();
      if (live) live.textContent = "Bitte neu anmelden: Die Sitzung ist beendet.";
    },
  });
}
