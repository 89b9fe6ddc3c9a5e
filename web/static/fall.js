"use strict";

// One objection or appeal. Facts, the deadline computation, status, forms, documents and
// history are rendered on the server (web/legal_pages.py, _fall.html, labels included). A form
// is posted from here and the part the server draws anew replaces the old one: saved, the
// status line says so and the focus stays on the form's button; refused, the errors stand at
// their fields with what was typed and the focus is on the first of them. Without this
// script the forms post as ordinary forms.

const caseBody = document.getElementById("case-body");
const caseStatus = document.getElementById("case-status");
let sending = false;

caseBody.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.method !== "post") return;
  event.preventDefault();
  if (sending) return;
  sending = true;
  const button = event.submitter || form.querySelector("button[type=submit]");
  try {
    const answer = await serverPart(form.action, {
      method: "POST", body: new FormData(form), headers: { "X-EAkte-Teil": "1" },
    });
    if (answer.error) {
      caseStatus.textContent = `Nicht gespeichert: ${answer.error}`;
      return;
    }
    caseBody.replaceChildren(...answer.body.childNodes);
    const said = caseBody.querySelector("#case-said");
    caseStatus.textContent = said ? said.dataset.status : "";
    const target = caseBody.querySelector("[aria-invalid=true]") || (button && document.getElementById(button.id));
    if (target) target.focus();
  } finally {
    sending = false;
  }
});

caseBody.addEventListener("click", (event) => {
  const button = event.target.closest("[data-doc]");
  if (button) window.EAkteViewer.show(button.dataset.doc, { page: 1 });
});
document.getElementById("open-viewer").addEventListener("click", () => window.EAkteViewer.open());
