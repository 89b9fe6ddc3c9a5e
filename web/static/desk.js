"use strict";

const STATUS_DE = {
  received: "wartet",
  processing: "in Arbeit",
  processed: "fertig",
  failed: "fehlgeschlagen",
};
const QA_DE = { pending: "offen", approved: "freigegeben", rejected: "abgelehnt" };
const REASON_DE = { separator: "Trennblatt", blank: "leere Rückseite", unreadable: "nicht lesbar" };

function minutes(seconds) {
  if (seconds == null) return "";
  if (seconds < 60) return `noch ${seconds} s`;
  return `noch ${Math.round(seconds / 60)} min`;
}

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
      refresh();
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

function documentControls(doc) {
  const state = html`<span class="badge ${doc.qa_status}">${QA_DE[doc.qa_status]}</span>`;
  const sheets = doc.first_page === doc.last_page
    ? `Blatt ${doc.first_page}` : `Blatt ${doc.first_page}–${doc.last_page}`;
  let routed = "";
  if (doc.inbox) {
    const target = doc.inbox.kind === "user" ? doc.inbox.user
      : doc.inbox.kind === "team" ? doc.inbox.team : "Klärung";
    routed = html` → <span class="routed ${doc.inbox.kind}">${target}</span>`;
  }
  const duplicate = doc.duplicate_kind ? html` <span class="badge duplicate" title="Bereits eingelesen; trotzdem zugestellt">Duplikat (${doc.duplicate_kind === "datei" ? "gleicher Inhalt" : "gleicher Text"})</span>` : "";
  const pages = html`${doc.pages} S. (${sheets})${routed}${duplicate}`;
  if (doc.qa_status === "rejected") {
    return html`<div class="doc" data-id="${doc.id}">${pages} ${state}
      <button type="button" class="secondary undo">Ablehnung zurücknehmen</button>
      <span class="qa-error failed" role="alert"></span></div>`;
  }
  if (doc.qa_status !== "pending") {
    return html`<div class="doc" data-id="${doc.id}">${pages} ${state}</div>`;
  }
  // The pages the check decides on, each opening the viewer at that page.
  const numbers = Array.from({ length: doc.pages || 0 }, (_, index) => index + 1);
  const thumbs = numbers.map((number) => html`<a href="${`${uri`/dokument/${doc.id}`}?page=${number}`}"
      target="eakte-viewer"><img class="qa-thumb" loading="lazy" alt="Seite ${number}"
      src="${uri`/api/documents/${doc.id}/pages/${number}/thumb`}"></a>`);
  return html`<div class="doc" data-id="${doc.id}">${pages} ${state}
    <div class="qa-pages">${thumbs}</div>
    <label>Seiten auf Papier <input type="number" min="0" class="counted" value=""></label>
    <button type="button" class="approve">Freigeben</button>
    <label>Grund <input type="text" class="reason" maxlength="2000" placeholder="z. B. Seite fehlt"></label>
    <button type="button" class="secondary reject">Ablehnen (neu scannen)</button>
    <span class="qa-error failed" role="alert"></span></div>`;
}

function batchRow(batch) {
  const dropped = batch.pages_dropped
    .map((page) => `Blatt ${page.page}: ${REASON_DE[page.reason] || page.reason}`)
    .join(", ");
  const progress = batch.status === "processing" || batch.status === "received"
    ? html`<progress max="${batch.pages_total}" value="${batch.pages_done}"></progress>
       ${batch.pages_done}/${batch.pages_total} ${minutes(batch.seconds_left)}`
    : "";
  const failure = batch.status_message
    ? html`<div class="${batch.status === "failed" ? "failed" : "hint"}">${batch.status_message}</div>`
    : "";
  return html`<tr data-batch="${batch.id}">
    <td>${batch.source_name}${batch.station ? html`<div class="hint">${batch.station}</div>` : ""}</td>
    <td>${new Date(batch.received_at).toLocaleString("de-DE")}</td>
    <td class="${batch.status === "failed" ? "failed" : ""}">${STATUS_DE[batch.status]} ${progress}${failure}</td>
    <td>${batch.pages_total} gescannt${dropped ? html`<div class="hint">aussortiert: ${dropped}</div>` : ""}</td>
    <td>${batch.documents.map(documentControls)}</td>
  </tr>`;
}

async function refresh() {
  const response = await fetch("/api/batches", { credentials: "same-origin" });
  if (!response.ok) return;
  const body = await response.json();
  const rows = document.getElementById("batch-rows");
  // Keep what the operator is typing: only redraw when nothing in the table has focus.
  if (rows.contains(document.activeElement)) return;
  setHtml(rows, html`${body.batches.map(batchRow)}`);
  const waiting = (body.counts.received || 0) + (body.counts.processing || 0);
  document.getElementById("queue-summary").textContent =
    `${waiting} in Arbeit, ${body.counts.failed || 0} fehlgeschlagen`;
}

async function decide(button, decision) {
  const doc = button.closest(".doc");
  const payload = { decision };
  const counted = doc.querySelector(".counted");
  if (counted && counted.value !== "") payload.counted_pages = Number(counted.value);
  const reason = doc.querySelector(".reason");
  if (reason && reason.value.trim()) payload.note = reason.value.trim();
  const response = await fetch(uri`/api/documents/${doc.dataset.id}/qa`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    doc.querySelector(".qa-error").textContent = (body.error && body.error.message) || "Fehler";
    return;
  }
  button.blur();
  refresh();
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

// The administration sees only the checksum check; the rest is the scanning desk's.
if (document.getElementById("batch-rows")) {
  document.getElementById("batch-rows").addEventListener("click", (event) => {
    if (event.target.classList.contains("approve")) decide(event.target, "approve");
    if (event.target.classList.contains("reject")) decide(event.target, "reject");
    if (event.target.classList.contains("undo")) decide(event.target, "undo");
  });

  const zone = document.getElementById("drop-zone");
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

  refresh();
  setInterval(refresh, 2000);
}
