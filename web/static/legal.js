/*
 * Registering an incoming letter as an objection (Widerspruch) or an appeal (Klage) in one
 * step, from the Postkorb or from the viewer window. The dialog's content is the server's
 * partial (web/legal_dialog_pages.py: GET and POST /dokument/{id}/erfassen), which has every
 * label, the errors at their fields with what was typed, and the result. Needs only format.js
 * (fetchDocument), which the viewer window loads as well; the viewer window loads neither
 * eakte.js nor its styles.
 *
 *   EAkteLegal.register(documentId, { onDone(result) })
 *     opens the dialog: the contested decision from the household's file (the one the letter
 *     names is suggested), the form, and for a court letter the court, file reference,
 *     parties and dates read from the letter. After saving, the dialog shows the result (on
 *     time or late, the dates for the court) with a link to the case's page;
 *     onDone({ kind, body: { id, file_reference } }) is called.
 */
"use strict";

window.EAkteLegal = (() => {
  function dialog() {
    let element = document.getElementById("legal-dialog");
    if (element) return element;
    element = document.createElement("dialog");
    element.id = "legal-dialog";
    element.className = "legal-dialog";
    element.setAttribute("aria-labelledby", "legal-title");
    document.body.append(element);
    return element;
  }

  // The server's answer into the dialog; what cannot be shown becomes a message of its own.
  function show(element, answer) {
    if (answer.body) {
      element.replaceChildren(...answer.body.childNodes);
      return true;
    }
    const title = document.createElement("h2");
    title.id = "legal-title";
    title.textContent = "Erfassen nicht möglich";
    const message = document.createElement("p");
    message.className = "error";
    message.setAttribute("role", "alert");
    message.textContent = answer.error;
    const row = document.createElement("div");
    row.className = "row";
    const close = document.createElement("button");
    close.type = "button";
    close.dataset.close = "";
    close.textContent = "Schließen";
    row.append(close);
    element.replaceChildren(title, message, row);
    return false;
  }

  function showKind(form) {
    const kind = form.elements.kind.value;
    for (const block of form.querySelectorAll("[data-for]")) block.hidden = block.dataset.for !== kind;
    for (const name of ["court", "file_reference", "served_on"]) form.elements[name].required = kind === "appeal";
  }

  function bind(element, documentId, onDone) {
    for (const button of element.querySelectorAll("[data-close]")) {
      button.addEventListener("click", () => element.close());
    }
    // In the viewer window the case opens in a window of its own; the viewer stays.
    if (document.body.classList.contains("viewer")) {
      for (const link of element.querySelectorAll("[data-open-case]")) {
        link.target = "_blank";
        link.rel = "noopener";
      }
    }
    const result = element.querySelector(".legal-result");
    if (result) {
      element.querySelector("[data-open-case]").focus();
      if (onDone) {
        const body = { id: Number(result.dataset.id), file_reference: result.dataset.fileReference };
        onDone({ kind: result.dataset.kind, body });
      }
      return;
    }
    const form = element.querySelector("form.legal-form");
    if (!form) {
      element.querySelector("[data-close]").focus();
      return;
    }
    for (const radio of form.querySelectorAll("input[name=kind]")) radio.addEventListener("change", () => showKind(form));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send(element, form, documentId, onDone, false);
    });
  }

  async function send(element, form, documentId, onDone, confirmed) {
    const data = new FormData(form);
    if (confirmed) data.set("confirm_duplicate", "1");
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    const answer = await fetchDocument(form.action, { method: "POST", body: data });
    if (!answer.body) {
      submit.disabled = false;
      form.querySelector(".error").textContent = answer.error;
      return;
    }
    show(element, answer);
    bind(element, documentId, onDone);
    const again = element.querySelector("form.legal-form");
    if (!again) return;
    // The same letter read twice or the same decision contested already: warned, and
    // registered only when the user confirms (issue 15); the warning stays in the dialog.
    if (again.dataset.confirm && window.confirm(again.dataset.confirm)) {
      send(element, again, documentId, onDone, true);
      return;
    }
    const invalid = again.querySelector("[aria-invalid=true]");
    (invalid || again.querySelector("button[type=submit]")).focus();
  }

  async function register(documentId, { onDone } = {}) {
    const element = dialog();
    const answer = await fetchDocument(`/dokument/${encodeURIComponent(documentId)}/erfassen`);
    show(element, answer);
    bind(element, documentId, onDone);
    element.showModal();
    const form = element.querySelector("form.legal-form");
    if (form) form.elements.kind[0].focus();
  }

  return { register };
})();
