"use strict";

let doctypes = [];

function renderCandidates(list, households, form) {
  if (!households.length) {
    setHtml(list, html`<li>Kein Haushalt gefunden.</li>`);
    return;
  }
  list.replaceChildren();
  for (const household of households) {
    const item = document.createElement("li");
    const people = household.members.map((m, index) => html`${index ? ", " : ""}${m.matches ? html`<strong>${m.name}</strong>` : m.name}${m.birth_date ? ` (geb. ${germanDate(m.birth_date)})` : ""}`);
    setHtml(item, html`<button type="button" class="secondary pick">Übernehmen</button>
      <span><strong>${household.bg_number}</strong>${household.active ? "" : " (nicht aktiv)"}:
      ${people}; ${household.address}</span>`);
    item.querySelector(".pick").addEventListener("click", () => {
      form.elements.bg_number.value = household.bg_number;
      form.elements.bg_number.focus();
    });
    list.append(item);
  }
}

// A letter read before: the mark, and discarding it with a reason after a confirmation.
function renderDuplicate(node, entry) {
  const mark = entry.duplicate;
  const box = node.querySelector(".duplicate");
  box.hidden = false;
  const text = box.querySelector(".duplicate-text");
  if (mark.earlier_id) {
    setHtml(text, html`<a href="${uri`/dokument/${mark.earlier_id}`}" target="_blank" rel="noopener">${mark.text}</a> (${mark.kind_name})`);
  } else {
    text.textContent = `${mark.text} (${mark.kind_name})`;
  }
  box.querySelector(".discard").addEventListener("click", () => {
    const dialog = document.getElementById("discard-dialog");
    const form = dialog.querySelector("form");
    form.reset();
    dialog.querySelector(".discard-what").textContent = entry.source_name;
    form.elements.reason.value = mark.earlier_name
      ? `Duplikat von ${mark.earlier_name}` : "Duplikat eines früheren Schriftstücks";
    dialog.querySelector(".error").textContent = "";
    form.onsubmit = async (event) => {
      event.preventDefault();
      if (event.submitter && event.submitter.value === "cancel") {
        dialog.close();
        return;
      }
      try {
        await api(uri`/api/documents/${entry.document_id}/discard`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ reason: form.elements.reason.value }),
        });
        dialog.close();
        document.getElementById("clearing-status").textContent = `${entry.source_name}: als Duplikat verworfen.`;
        node.remove();
        load();
      } catch (failure) {
        dialog.querySelector(".error").textContent = failure.message;
      }
    };
    dialog.showModal();
    form.elements.reason.focus();
  });
}

function renderItem(entry) {
  const node = document.getElementById("clearing-item").content.firstElementChild.cloneNode(true);
  node.dataset.documentId = entry.document_id;
  node.querySelector(".source").textContent = entry.source_name;
  node.querySelector(".meta").textContent =
    `Eingang ${germanDate(entry.received_at)} · ${entry.pages} Seite(n)` +
    (entry.letter_date ? ` · Schreiben vom ${germanDate(entry.letter_date)}` : "");
  node.querySelector(".reason").textContent = entry.reason;
  const proposal = [];
  for (const found of entry.proposal.bg_numbers) {
    proposal.push(`BG-Nummer ${found.value} auf Seite ${found.page}` + (found.known ? "" : " (nicht in den Stammdaten)"));
  }
  if (entry.proposal.person) proposal.push(`Person: ${entry.proposal.person}`);
  node.querySelector(".proposal").textContent = proposal.length ? `Gefunden: ${proposal.join("; ")}` : "";
  node.querySelector(".edit-pages").href = uri`/dokument/${entry.document_id}/seiten`;
  const thumbs = node.querySelector(".thumbs");
  for (let page = 1; page <= entry.pages; page += 1) {
    const link = document.createElement("a");
    link.href = uri`/api/documents/${entry.document_id}/pages/${page}/image`;
    link.target = "_blank";
    link.rel = "noopener";
    link.title = `Seite ${page} groß ansehen`;
    const thumb = document.createElement("img");
    thumb.loading = "lazy";
    thumb.alt = `Seite ${page}`;
    thumb.src = uri`/api/documents/${entry.document_id}/pages/${page}/thumb`;
    link.append(thumb);
    thumbs.append(link);
  }
  const filing = node.querySelector(".filing");
  const select = filing.elements.doc_type;
  for (const type of doctypes) {
    const option = new Option(type.name, type.code, false, type.code === entry.doc_type);
    select.append(option);
  }
  // The households recognition already named (in the clearing reason or its evidence): filed
  // into with one click, with the type chosen above.
  if (entry.suggestions.length) {
    const choices = document.createElement("p");
    choices.className = "choices";
    choices.append(entry.suggestions.length > 1 ? "In Frage kommen: " : "Erkannt: ");
    for (const suggestion of entry.suggestions) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary choose";
      button.textContent = `Zuordnen zu ${suggestion.bg_number}${suggestion.names ? ` (${suggestion.names})` : ""}`;
      button.addEventListener("click", () => {
        filing.elements.bg_number.value = suggestion.bg_number;
        filing.requestSubmit();
      });
      choices.append(button, " ");
    }
    node.querySelector(".proposal").after(choices);
  }
  if (entry.suggestions.length <= 1) {
    const known = entry.proposal.bg_numbers.find((found) => found.known);
    if (known) filing.elements.bg_number.value = known.value;
  }
  if (entry.duplicate) renderDuplicate(node, entry);
  const search = node.querySelector(".household-search");
  search.addEventListener("submit", async (event) => {
    event.preventDefault();
    const list = node.querySelector(".candidates");
    try {
      const body = await api(`/api/households?q=${encodeURIComponent(search.elements.q.value)}`);
      renderCandidates(list, body.households, filing);
    } catch (error) {
      setHtml(list, html`<li class="error">${error.message}</li>`);
    }
  });
  filing.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = filing.querySelector(".error");
    error.textContent = "";
    const data = Object.fromEntries(new FormData(filing));
    try {
      const result = await api(uri`/api/documents/${entry.document_id}/filing`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(data),
      });
      const inbox = result.inbox.user || result.inbox.team || "Klärung";
      document.getElementById("clearing-status").textContent =
        `${entry.source_name}: zugeordnet zu ${result.bg_number}, Postkorb ${inbox}.`;
      node.remove();
      load();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  return node;
}

async function load() {
  const container = document.getElementById("clearing-items");
  try {
    if (!doctypes.length) doctypes = (await api("/api/doctypes")).doctypes;
    const body = await api("/api/clearing");
    document.getElementById("clearing-count").textContent = `${body.total} offen`;
    const shown = new Set([...container.children].map((node) => node.dataset.documentId));
    for (const entry of body.items) {
      if (!shown.has(entry.document_id)) container.append(renderItem(entry));
    }
    if (!body.items.length) setHtml(container, html`<p class="card">Keine offenen Klärungsfälle.</p>`);
  } catch (error) {
    document.getElementById("clearing-status").textContent = error.message;
  }
}

document.addEventListener("DOMContentLoaded", load);
