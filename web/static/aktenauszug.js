"use strict";

// The file export (Aktenauszug). The server renders the form, the result and the exports so far
// (web/aktenauszug_pages.py, every label there); this script sends the form and puts the
// server's answer in place, fetches the form of another scope (its address is the page's, so
// reload and Back keep it), counts the chosen documents and opens one in the viewer window.
const root = document.getElementById("export");

function countSelection() {
  const counter = document.getElementById("selection-count");
  const boxes = [...document.querySelectorAll("#export-documents .include")];
  const chosen = boxes.filter((box) => box.checked).length;
  counter.textContent = counter.dataset.pattern.replace("{chosen}", chosen).replace("{total}", boxes.length);
}

function problem(text) {
  document.getElementById("export-error").textContent = text;
}

// The page's parts from the server's answer (this page): the form replaced, the result and the
// list filled in (the status region itself stays, so that what it says is announced).
function put(body) {
  const form = body.querySelector("#export-form");
  if (!form) return false;
  document.getElementById("export-form").replaceWith(form);
  for (const id of ["export-result", "export-history"]) {
    const fresh = body.querySelector(`#${id}`);
    if (fresh) document.getElementById(id).replaceChildren(...fresh.childNodes);
  }
  return true;
}

async function changeScope(select) {
  const href = select.selectedOptions[0].dataset.href;
  const form = document.getElementById("export-form");
  window.history.replaceState(null, "", href);
  const answer = await fetchDocument(href);
  // Read when the answer is here: what was typed while it was on its way stays too.
  const typed = { recipient: form.elements.recipient.value, legal_basis: form.elements.legal_basis.value };
  if (!answer.body || !put(answer.body)) {
    problem(answer.error || `Fehler ${answer.status}`);
    return;
  }
  // What the scope suggests (an appeal's court and its legal basis) wins; else what was typed stays.
  const fresh = document.getElementById("export-form");
  if (!fresh.elements.recipient.value) fresh.elements.recipient.value = typed.recipient;
  if (!fresh.elements.legal_basis.value) fresh.elements.legal_basis.value = typed.legal_basis;
  fresh.elements.scope.focus();
}

async function send(form) {
  const button = document.getElementById("create-export");
  const result = document.getElementById("export-result");
  const data = new FormData(form);
  button.disabled = true;
  problem("");
  result.textContent = result.dataset.working;
  const answer = await fetchDocument(form.action, { method: "POST", body: data });
  if (!answer.body || !put(answer.body)) {
    result.replaceChildren();
    button.disabled = false;
    problem(answer.error || `Fehler ${answer.status}`);
    return;
  }
  const invalid = document.querySelector("#export-form [aria-invalid=true]");
  (invalid || document.getElementById("create-export")).focus();
}

root.addEventListener("submit", (event) => {
  if (event.target.id !== "export-form") return;
  event.preventDefault();
  send(event.target);
});
root.addEventListener("change", (event) => {
  if (event.target.id === "scope") changeScope(event.target);
  else if (event.target.classList.contains("include")) countSelection();
});
root.addEventListener("click", (event) => {
  const all = event.target.closest("#select-all, #select-none");
  if (all) {
    for (const box of document.querySelectorAll("#export-documents .include")) box.checked = all.id === "select-all";
    countSelection();
    return;
  }
  const doc = event.target.closest("[data-doc]");
  if (doc) window.EAkteViewer.show(doc.dataset.doc, { page: 1 });
});
document.getElementById("open-viewer").addEventListener("click", () => window.EAkteViewer.open());
