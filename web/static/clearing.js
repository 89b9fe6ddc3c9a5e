"use strict";

// Clearing: the page is rendered on the server (web/clearing_pages.py, templates
// _clearing_*.html), labels included. This script only enhances it: the list and a search's
// results are fetched and swapped in, the forms are sent without leaving the page, and a
// duplicate is discarded after a confirmation that asks for the reason. Without the script the
// forms post to the same routes and the page comes back whole.

const part = document.getElementById("clearing-part");
const status = document.getElementById("clearing-status");
const count = document.getElementById("clearing-count");
const dialog = document.getElementById("discard-dialog");
const PARTIAL = { "X-EAkte-Partial": "1" };

// The server's parts (format.js's fetchPart); `body` (FormData) makes it a POST of the form.
async function request(method, url, body = null) {
  const answer = await fetchPart(url, {
    method, headers: PARTIAL, body: body === null ? null : new URLSearchParams(body),
  });
  if ((answer.status !== 200 && answer.status !== 422) || !answer.body) return { error: answer.error };
  return { body: answer.body, status: answer.status };
}

// Answers can overtake each other (a filter, another page, an action): only the answer to the
// latest request is shown, so an older answer never replaces a newer one.
let latest = 0;

// Swaps the server's list in without losing what the desk is doing: typed fields and search
// results of the other cases stay, and the focus stays on its control (by id) or, where that
// control is gone (a case filed), goes to the next case's heading or the page's.
function swap(body, { acted = null, focusTo = "" } = {}) {
  const fresh = body.querySelector("#clearing-list");
  if (!fresh) return null;
  const active = part.contains(document.activeElement) ? document.activeElement : null;
  const activeCase = active && active.closest(".clearing-item");
  const following = activeCase ? activeCase.nextElementSibling : null;
  const kept = new Map();
  for (const field of part.querySelectorAll(".clearing-item input[id], .clearing-item select[id]")) {
    if (acted && field.closest(".clearing-item").dataset.id === acted) continue;
    kept.set(field.id, field.value);
  }
  const found = new Map([...part.querySelectorAll(".candidates-part[id]")]
    .filter((node) => node.children.length).map((node) => [node.id, [...node.childNodes]]));
  part.replaceChildren(fresh);
  for (const [id, value] of kept) {
    const field = document.getElementById(id);
    if (field && part.contains(field)) field.value = value;
  }
  for (const [id, nodes] of found) {
    const node = document.getElementById(id);
    if (node && part.contains(node) && !node.children.length) node.replaceChildren(...nodes);
  }
  count.textContent = fresh.dataset.count;
  const wanted = focusTo || fresh.dataset.focus;
  let target = wanted ? document.getElementById(wanted) : null;
  if (!target && active && active.id) target = document.getElementById(active.id);
  if (!target && active) {
    const next = following && following.dataset.id && document.getElementById(`source-${following.dataset.id}`);
    const first = part.querySelector(".clearing-item h2");
    target = next || first || document.getElementById("clearing-heading");
  }
  if (target) target.focus({ preventScroll: !wanted });
  return fresh;
}

function listUrl() {
  return `${part.dataset.src}${window.location.search}`;
}

async function load(options = {}) {
  const ticket = ++latest;
  const answer = await request("GET", listUrl());
  if (ticket !== latest) return;
  if (answer.error) { status.textContent = answer.error; return; }
  swap(answer.body, options);
}

// A filter or another page: the address changes (Back goes to the list before) and the list
// reloads; the focus goes to the list's first line.
function go(query) {
  const text = query.toString();
  window.history.pushState(null, "", text ? `/klaerung?${text}` : "/klaerung");
  load({ focusTo: "clearing-range" });
}

window.addEventListener("popstate", () => load());

// --- sending a form ---------------------------------------------------------------------------

async function send(url, data, acted) {
  const ticket = ++latest;
  const answer = await request("POST", url, data);
  if (answer.error) { status.className = "failed"; status.textContent = answer.error; return null; }
  if (ticket !== latest) {
    // A newer list was asked for meanwhile: the action is done, the list comes again.
    load();
    return { said: answer.body.querySelector("#clearing-list").dataset.said, failed: answer.status !== 200 };
  }
  const fresh = swap(answer.body, { acted });
  const said = fresh ? fresh.dataset.said : "";
  const failed = answer.status !== 200;
  return { said, failed };
}

part.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.id === "clearing-filter") {
    event.preventDefault();
    go(new URLSearchParams(new FormData(form)));
    return;
  }
  const card = form.closest(".clearing-item");
  if (!card) return;
  event.preventDefault();
  if (form.classList.contains("household-search")) {
    const results = document.getElementById(`found-${card.dataset.id}`);
    const query = new URLSearchParams({ q: form.elements.q.value, fuer: card.dataset.id });
    const ticket = (Number(results.dataset.ticket) || 0) + 1;
    results.dataset.ticket = String(ticket);
    const answer = await request("GET", `/klaerung/haushalte?${query}`);
    if (Number(results.dataset.ticket) !== ticket || !results.isConnected) return;
    if (answer.error) { results.textContent = answer.error; return; }
    results.replaceChildren(...answer.body.childNodes);
    return;
  }
  if (form.classList.contains("filing")) {
    const data = new FormData(form, event.submitter || undefined);
    const outcome = await send(form.action, data, card.dataset.id);
    if (!outcome) return;
    if (!outcome.failed) { status.className = ""; status.textContent = outcome.said; }
  }
});

part.addEventListener("click", (event) => {
  const link = event.target.closest("a.page-link");
  if (link) {
    event.preventDefault();
    go(new URL(link.href).searchParams);
    return;
  }
  const pick = event.target.closest("button.pick");
  if (pick) {
    const card = pick.closest(".clearing-item");
    const field = document.getElementById(`bg-${card.dataset.id}`);
    field.value = pick.dataset.bg;
    field.focus();
    return;
  }
  const discard = event.target.closest("button.discard");
  if (discard) openDiscard(discard);
});

// --- discarding a duplicate: asked first, with the reason -------------------------------------

const discardForm = document.getElementById("discard-form");
const reason = document.getElementById("discard-reason");
const discardError = document.getElementById("discard-error");
let discarding = null;

function openDiscard(button) {
  discarding = button;
  discardForm.action = button.dataset.action;
  dialog.querySelector(".discard-what").textContent = button.dataset.what;
  reason.value = button.dataset.reason;
  reason.removeAttribute("aria-invalid");
  discardError.textContent = "";
  dialog.showModal();
  reason.focus();
}

function closeDiscard() {
  const button = discarding;
  discarding = null;
  dialog.close();
  if (button && button.isConnected) button.focus();
}

discardForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!discarding) return;
  const card = discarding.closest(".clearing-item");
  const outcome = await send(discardForm.action, new FormData(discardForm), card.dataset.id);
  if (!outcome) return;
  if (outcome.failed) {
    discardError.textContent = outcome.said;
    reason.setAttribute("aria-invalid", "true");
    reason.focus();
    return;
  }
  discarding = null;
  dialog.close();
  status.className = "";
  status.textContent = outcome.said;
  const next = part.querySelector(".clearing-item h2");
  (next || document.getElementById("clearing-heading")).focus();
});
document.getElementById("discard-cancel").addEventListener("click", closeDiscard);
dialog.addEventListener("cancel", (event) => { event.preventDefault(); closeDiscard(); });
