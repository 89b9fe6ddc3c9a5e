"use strict";

// The page editor (/dokument/{id}/seiten): the document's pages in order, each with buttons to
// turn it, start a new document from it, move it to another or a new document, or remove it
// (with a reason). Everything is built with DOM calls and textContent; the API checks, audits
// and answers in German (api/routes/pages.py).
//
// Keyboard: Tab walks the buttons page by page; Enter or Space presses one. After a split the
// focus lands on the link to the new document, so a scan of three letters is split with
// Tab … Enter, Enter (open the new one), Tab … Enter.

const editor = {
  root: document.getElementById("page-editor"),
  list: document.getElementById("editor-pages"),
  data: null,
  opener: null, // the button that opened a dialog: focus goes back to it
  page: null, // the page a dialog acts on
};
editor.id = editor.root.dataset.documentId;

function documentUrl(id, suffix = "") {
  return `/api/documents/${encodeURIComponent(id)}${suffix}`;
}

function post(suffix, body) {
  return api(documentUrl(editor.id, suffix), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function say(text) {
  document.getElementById("editor-status").textContent = text;
  document.getElementById("editor-error").textContent = "";
}

function fail(text) {
  document.getElementById("editor-error").textContent = text;
}

const LABELS = { rotate: null, split: "Neues Schriftstück ab dieser Seite", move: "Verschieben", remove: "Entfernen" };

function pageCard(page, count) {
  const node = document.getElementById("editor-page").content.firstElementChild.cloneNode(true);
  node.dataset.number = String(page.number);
  const heading = node.querySelector(".page-title");
  heading.id = `seite-${page.number}`;
  heading.textContent = `Seite ${page.number} von ${count}`;
  node.setAttribute("aria-labelledby", heading.id);
  const thumb = node.querySelector(".page-thumb");
  if (page.thumb_url) {
    thumb.loading = "lazy";
    thumb.src = page.thumb_url;
    thumb.alt = `Vorschau der Seite ${page.number}` + (page.words ? "" : " (kein Text erkannt)");
  } else {
    thumb.remove();
  }
  for (const button of node.querySelectorAll("button")) {
    const act = button.dataset.act;
    const single = count === 1 && act !== "rotate";
    if ((act === "split" && page.number === 1) || single) {
      button.remove();
      continue;
    }
    const label = (LABELS[act] || button.textContent).replace(/ …$/, "");
    button.setAttribute("aria-label", `${label}: Seite ${page.number}`);
  }
  return node;
}

function render(data) {
  editor.data = data;
  document.getElementById("editor-title").textContent = data.source_name;
  const type = data.doc_type_name ? `${data.doc_type_name}, ` : "";
  document.getElementById("editor-where").textContent =
    `${type}${data.pages.length} ${data.pages.length === 1 ? "Seite" : "Seiten"}, ${data.where}.`;
  editor.list.replaceChildren(...data.pages.map((page) => pageCard(page, data.pages.length)));
}

async function load() {
  try {
    render(await api(documentUrl(editor.id, "/page-editor")));
  } catch (error) {
    editor.list.replaceChildren();
    fail(error.message);
  }
}

function focusButton(number, act, degrees) {
  const card = editor.list.querySelector(`li[data-number="${Number(number)}"]`)
    || editor.list.querySelector("li:last-child");
  if (!card) return;
  const wanted = degrees
    ? card.querySelector(`button[data-act="${act}"][data-degrees="${Number(degrees)}"]`)
    : card.querySelector(`button[data-act="${act}"]`);
  (wanted || card.querySelector("button")).focus();
}

// What the edit did, with a link to the document that took the pages where the user may open it.
function report(result) {
  say(result.message);
  const next = document.getElementById("editor-next");
  next.replaceChildren();
  const moved = result.documents.find((d) => d.role !== "source");
  if (!moved) return null;
  const pages = `${moved.page_count} ${moved.page_count === 1 ? "Seite" : "Seiten"}`;
  const text = moved.role === "new" ? `Neues Schriftstück (${pages}): ${moved.where}.`
    : moved.role === "target" ? `Das Ziel hat jetzt ${pages}: ${moved.where}.`
      : `Entfernt (${pages}): ${moved.where}.`;
  next.append(document.createTextNode(`${text} `));
  if (!moved.editable) return null;
  const link = document.createElement("a");
  link.href = `/dokument/${encodeURIComponent(moved.document_id)}/seiten`;
  link.textContent = moved.role === "new" ? "Neues Schriftstück bearbeiten" : "Ziel bearbeiten";
  next.append(link);
  return link;
}

// Sends the edit, shows the document again and says what happened; null when it was refused.
async function run(send) {
  try {
    const result = await send();
    const source = result.documents.find((d) => d.role === "source");
    await load();
    const link = report(result);
    if (source && !source.editable) fail(`Dieses Schriftstück ist jetzt ${source.where}.`);
    return { link };
  } catch (error) {
    fail(error.message);
    return null;
  }
}

function openDialog(id, button, number) {
  const dialog = document.getElementById(id);
  editor.opener = button;
  editor.page = number;
  const form = dialog.querySelector("form");
  form.reset();
  form.querySelector(".error").textContent = "";
  dialog.showModal();
  return dialog;
}

function closeDialog(dialog) {
  dialog.close();
  if (editor.opener && editor.opener.isConnected) editor.opener.focus();
}

function openMove(button, number) {
  const select = document.getElementById("move-target");
  const fresh = document.createElement("option");
  fresh.value = "";
  fresh.textContent = "Neues Schriftstück";
  const options = [fresh];
  for (const target of editor.data.targets) {
    const option = document.createElement("option");
    option.value = target.id;
    const type = target.doc_type_name ? ` · ${target.doc_type_name}` : "";
    option.textContent = `${target.source_name}${type} · ${target.page_count} S. · ` +
      `${germanDate(target.received_at)} · ${target.where}`;
    options.push(option);
  }
  select.replaceChildren(...options);
  document.getElementById("move-what").textContent =
    `Seite ${number} von „${editor.data.source_name}“ verschieben nach:`;
  openDialog("move-dialog", button, number);
  select.focus();
}

function openRemove(button, number) {
  document.getElementById("remove-what").textContent =
    `Seite ${number} aus „${editor.data.source_name}“ entfernen?`;
  openDialog("remove-dialog", button, number);
  document.getElementById("remove-reason").focus();
}

editor.list.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-act]");
  if (!button) return;
  const number = Number(button.closest("li").dataset.number);
  const act = button.dataset.act;
  if (act === "rotate") {
    const degrees = Number(button.dataset.degrees);
    run(() => post("/rotate-page", { page: number, degrees })).then((done) => {
      if (done) focusButton(number, act, degrees);
    });
  } else if (act === "split") {
    run(() => post("/split", { after: number - 1 })).then((done) => {
      if (done) (done.link || document.getElementById("editor-status")).focus();
    });
  } else if (act === "move") {
    openMove(button, number);
  } else if (act === "remove") {
    openRemove(button, number);
  }
});

for (const dialog of document.querySelectorAll("#move-dialog, #remove-dialog")) {
  dialog.querySelector("[data-close]").addEventListener("click", () => closeDialog(dialog));
}

function dialogSubmit(id, send) {
  const dialog = document.getElementById(id);
  const form = dialog.querySelector("form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".error");
    if (!form.reportValidity()) return;
    const number = editor.page;
    const done = await run(() => send(form, number));
    if (done) {
      dialog.close();
      focusButton(Math.min(number, editor.list.children.length), "move");
    } else {
      error.textContent = document.getElementById("editor-error").textContent;
    }
  });
}

dialogSubmit("move-dialog", (form, number) => post("/move-pages", {
  pages: [number],
  target_document_id: form.elements.target.value || null,
}));
dialogSubmit("remove-dialog", (form, number) => post("/remove-pages", {
  pages: [number],
  reason: form.elements.reason.value.trim(),
}));

document.addEventListener("DOMContentLoaded", load);
