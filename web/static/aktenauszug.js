"use strict";

// The file export (Aktenauszug): scope (whole file, one objection, one appeal), documents with
// reasons for withholding, recipient and legal basis; the result to download; earlier exports.
const root = document.getElementById("export");
const EXPORT = { bg: root.dataset.bg, options: null };
const form = document.getElementById("export-form");

function scopeQuery(scope) {
  const [kind, id] = scope.split(":");
  if (kind === "objection") return `?objection_id=${encodeURIComponent(id)}`;
  if (kind === "appeal") return `?appeal_id=${encodeURIComponent(id)}`;
  return "";
}

function renderDocuments() {
  const rows = EXPORT.options.documents.map((d) => html`<tr data-id="${d.id}">
      <td><input type="checkbox" class="include" aria-label="${d.doc_type_name} aufnehmen"${d.selected ? html` checked` : ""}></td>
      <td>${germanDate(d.direction === "out" ? d.dispatch_date : d.receipt_date)}</td>
      <td><button type="button" class="link" data-doc="${d.id}">${d.doc_type_name}</button>
        <div class="hint">${d.sender || d.source_name}${d.has_pdf ? "" : " · noch in Verarbeitung"}</div></td>
      <td>${d.pages || "?"}</td>
      <td><input type="text" class="withhold" list="withholding-reasons" maxlength="300" aria-label="Grund für das Zurückhalten: ${d.doc_type_name}" placeholder="leer: Dokument wird übersandt"></td>
    </tr>`);
  setHtml(document.getElementById("export-documents"), rows.length ? html`${rows}`
    : html`<tr><td colspan="5" class="hint">Die Akte enthält keine Dokumente.</td></tr>`);
  countSelection();
}

function countSelection() {
  const boxes = [...document.querySelectorAll("#export-documents .include")];
  const chosen = boxes.filter((b) => b.checked).length;
  document.getElementById("selection-count").textContent = `${chosen} von ${boxes.length} Dokumenten gewählt`;
}

async function loadOptions(scope = "file") {
  EXPORT.options = await api(`/api/households/${encodeURIComponent(EXPORT.bg)}/export-options${scopeQuery(scope)}`);
  const o = EXPORT.options;
  document.getElementById("household-name").textContent = `Haushalt: ${o.household_name}`;
  const select = document.getElementById("scope");
  if (select.options.length === 1) {
    for (const objection of o.objections) {
      select.append(new Option(`Widerspruch Nr. ${objection.id} (Eingang ${germanDate(objection.receipt_date)})`, `objection:${objection.id}`));
    }
    for (const appeal of o.appeals) {
      select.append(new Option(`Klage ${appeal.court}, Az. ${appeal.file_reference}`, `appeal:${appeal.id}`));
    }
    const bases = form.elements.legal_basis;
    for (const basis of o.legal_bases) bases.append(new Option(basis.name, basis.code));
    document.getElementById("withholding-reasons").replaceChildren(...o.withholding_reasons.map((r) => new Option("", r)));
  }
  select.value = scope;
  if (o.recipient) form.elements.recipient.value = o.recipient;
  if (o.legal_basis) form.elements.legal_basis.value = o.legal_basis;
  renderDocuments();
}

async function loadHistory() {
  const body = await api(`/api/households/${encodeURIComponent(EXPORT.bg)}/exports`);
  setHtml(document.getElementById("export-history"), body.exports.length ? html`${body.exports.map((e) => html`<tr>
      <td>${e.id}</td><td>${when(e.created_at)}<div class="hint">${e.created_by_name}</div></td>
      <td>${e.recipient}</td><td>${e.legal_basis_name}</td>
      <td>${e.scope_name}: ${e.documents.length} Dokumente${e.withheld ? `, ${e.withheld} zurückgehalten` : ""}</td>
      <td>${e.pages}</td><td><code class="hash">${e.sha256}</code></td>
      <td><a href="${e.pdf_url}">PDF herunterladen</a></td></tr>`)}`
    : html`<tr><td colspan="8" class="hint">Noch keine Aktenauszüge.</td></tr>`);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("export-error");
  const result = document.getElementById("export-result");
  error.textContent = "";
  const rows = [...document.querySelectorAll("#export-documents tr[data-id]")];
  const chosen = rows.filter((row) => row.querySelector(".include").checked);
  if (!chosen.length) {
    error.textContent = "Bitte mindestens ein Dokument wählen.";
    return;
  }
  const [kind, id] = form.elements.scope.value.split(":");
  const payload = {
    bg_number: EXPORT.bg,
    recipient: form.elements.recipient.value,
    legal_basis: form.elements.legal_basis.value,
    document_ids: chosen.map((row) => row.dataset.id),
    withheld: chosen
      .map((row) => ({ document_id: row.dataset.id, reason: row.querySelector(".withhold").value.trim() }))
      .filter((entry) => entry.reason),
    objection_id: kind === "objection" ? Number(id) : null,
    appeal_id: kind === "appeal" ? Number(id) : null,
  };
  const button = document.getElementById("create-export");
  button.disabled = true;
  setHtml(result, html`<p class="hint">Aktenauszug wird erstellt …</p>`);
  try {
    const record = await api("/api/exports", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
    });
    setHtml(result, html`<div class="result">
      <p><strong>Aktenauszug Nr. ${record.id} erstellt:</strong> ${record.pages} Blatt, ${record.documents.length} Dokumente${record.withheld ? ` (${record.withheld} zurückgehalten)` : ""},
      an ${record.recipient} (${record.legal_basis_name}). Der Vorgang ist in der Akte vermerkt.</p>
      <p>SHA-256: <code class="hash">${record.sha256}</code></p>
      <p><a href="${record.pdf_url}" id="download-export">PDF herunterladen</a></p></div>`);
    await loadHistory();
  } catch (problem) {
    result.replaceChildren();
    error.textContent = problem.message;
  } finally {
    button.disabled = false;
  }
});

document.getElementById("scope").addEventListener("change", (event) => loadOptions(event.target.value));
document.getElementById("export-documents").addEventListener("change", countSelection);
document.getElementById("select-all").addEventListener("click", () => {
  document.querySelectorAll("#export-documents .include").forEach((b) => { b.checked = true; });
  countSelection();
});
document.getElementById("select-none").addEventListener("click", () => {
  document.querySelectorAll("#export-documents .include").forEach((b) => { b.checked = false; });
  countSelection();
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-doc]");
  if (button) window.EAkteViewer.show(button.dataset.doc, { page: 1 });
});
document.getElementById("open-viewer").addEventListener("click", () => window.EAkteViewer.open());
document.addEventListener("DOMContentLoaded", async () => {
  const params = new URLSearchParams(location.search);
  const scope = params.get("widerspruch") ? `objection:${params.get("widerspruch")}`
    : params.get("klage") ? `appeal:${params.get("klage")}` : "file";
  try {
    await loadOptions(scope);
    await loadHistory();
  } catch (error) {
    document.getElementById("export-error").textContent = error.message;
  }
});
