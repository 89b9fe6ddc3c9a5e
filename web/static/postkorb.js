"use strict";

// The Postkorb: own, team and deputy inboxes; the selected row is shown in the viewer window.
const state = { scope: "mine", items: [], cursor: -1, selected: new Set(), counts: null };
// The objections office registers objections and court letters from here in one step.
const OFFICE = document.getElementById("postkorb").dataset.legal === "True";

function status(message) {
  document.getElementById("inbox-status").textContent = message;
}

async function loadCounts() {
  state.counts = await api("/api/inbox/counts");
  const tabs = [["mine", "Mein Postkorb", state.counts.mine], ["team", "Team", state.counts.team]];
  const nav = document.getElementById("scopes");
  nav.replaceChildren();
  const add = (scope, label, count) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `tab${state.scope === scope ? " active" : ""}`;
    button.dataset.scope = scope;
    button.setAttribute("aria-pressed", state.scope === scope ? "true" : "false");
    setHtml(button, html`${label} <span class="count">${count}</span>`);
    button.addEventListener("click", () => switchScope(scope));
    nav.append(button);
  };
  for (const [scope, label, count] of tabs) add(scope, label, count.new ? `${count.new} neu / ${count.open}` : count.open);
  if (state.counts.deputy.length) add("deputy", `Vertretung: ${state.counts.deputy.map((d) => d.name).join(", ")}`,
    state.counts.deputy.reduce((sum, d) => sum + d.open, 0));
  if (typeof refreshNavCount === "function") refreshNavCount();
}

async function loadItems(keepCursor = false) {
  const filters = new FormData(document.getElementById("filters"));
  const params = new URLSearchParams({ scope: state.scope, state: filters.get("state"), sort: filters.get("sort") });
  if (filters.get("doc_type")) params.set("doc_type", filters.get("doc_type"));
  const body = await api(`/api/inbox?${params}`);
  state.items = body.items;
  state.selected = new Set([...state.selected].filter((id) => body.items.some((i) => i.id === id)));
  if (!keepCursor || state.cursor >= state.items.length) state.cursor = state.items.length ? 0 : -1;
  render();
  status(`${body.total} Einträge`);
}

function render() {
  const rows = document.getElementById("inbox-rows");
  rows.replaceChildren();
  state.items.forEach((item, index) => {
    const doc = item.document;
    const row = document.createElement("tr");
    row.dataset.id = item.id;
    row.className = `${item.state}${index === state.cursor ? " cursor" : ""}`;
    row.tabIndex = -1;
    if (index === state.cursor) row.setAttribute("aria-current", "true");
    const where = item.kind === "team" ? html`<span class="badge">Team ${item.team}</span>` : "";
    const forwarded = item.comment ? html`<div class="hint">${item.forwarded_by}: ${item.comment}</div>` : "";
    const household = doc.bg_number
      ? html`<a href="${uri`/akte/${doc.bg_number}`}">${doc.bg_number}</a><div class="hint">${doc.household_name || ""}</div>`
      : "–";
    setHtml(row, html`
      <td><input type="checkbox" class="pick" aria-label="${rowName(item)} markieren"${state.selected.has(item.id) ? html` checked` : ""}></td>
      <td>${germanDate(doc.receipt_date)}${item.state === "new" ? html` <span class="badge new">neu</span>` : ""}
        ${item.state === "done" ? html` <span class="badge approved">erledigt</span>` : ""}</td>
      <td>${doc.doc_type_name || "–"}<div class="hint">${doc.source_name} · ${doc.pages} S.</div></td>
      <td>${household}</td>
      <td class="reason">${item.reason}${forwarded} ${where}</td>
      <td class="actions">
        <button type="button" class="secondary" data-act="show" title="Im Anzeigefenster zeigen (Enter)">Anzeigen</button>
        ${OFFICE && doc.bg_number ? html`<button type="button" data-act="register" title="Als Widerspruch oder Klage erfassen (r)">${doc.doc_type === "klage" ? "Klage erfassen" : "Widerspruch erfassen"}</button>` : ""}
        ${item.kind === "team" ? html`<button type="button" data-act="take" title="Übernehmen (u)">Übernehmen</button>` : ""}
        ${item.state !== "done" ? html`<button type="button" data-act="done" title="Erledigt (e)">Erledigt</button>` : ""}
      </td>`);
    row.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      if (event.target.classList.contains("pick")) {
        toggle(item.id, event.target.checked);
        return;
      }
      const act = event.target.dataset.act;
      moveTo(index, !act);
      if (act === "show") show(item);
      else if (act === "register") register(item);
      else if (act) act1(item, act);
    });
    // The row whose link or button has focus is the one the shortcuts act on.
    row.addEventListener("focusin", (event) => {
      if (event.target !== row && state.cursor !== index) markCursor(index);
    });
    rows.append(row);
  });
  document.getElementById("selected-count").textContent = `${state.selected.size} markiert`;
}

// What tells a row apart for a screen reader: date, type and household (or file name).
function rowName(item) {
  const doc = item.document;
  const who = doc.household_name || doc.bg_number || doc.source_name;
  return `${doc.doc_type_name || "Dokument"}, Eingang vom ${germanDate(doc.receipt_date)}, ${who},`;
}

function toggle(id, on) {
  if (on) state.selected.add(id); else state.selected.delete(id);
  document.getElementById("selected-count").textContent = `${state.selected.size} markiert`;
}

function current() {
  return state.cursor >= 0 ? state.items[state.cursor] : null;
}

function show(item) {
  if (!item) return;
  window.EAkteViewer.show(item.document.id, { page: 1 });
  if (item.state === "new") act1(item, "read", true);
}

// The row the shortcuts act on, marked for the eye and for screen readers.
function markCursor(index) {
  state.cursor = index;
  document.querySelectorAll("#inbox-rows tr").forEach((row, i) => {
    row.classList.toggle("cursor", i === index);
    if (i === index) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
  });
}

function moveTo(index, follow = true) {
  if (index < 0 || index >= state.items.length) return;
  markCursor(index);
  const row = document.querySelectorAll("#inbox-rows tr")[index];
  row.scrollIntoView({ block: "nearest" });
  // The viewer window follows the selection, if one is open.
  if (follow && window.EAkteViewer) {
    window.EAkteViewer.isOpen().then((open) => { if (open) show(current()); });
  }
}

function register(item) {
  if (!OFFICE || !item || !item.document.bg_number) return;
  window.EAkteLegal.register(item.document.id, {
    onDone: async ({ kind, body }) => {
      await loadCounts();
      await loadItems(true);
      status(kind === "objection" ? `Widerspruch Nr. ${body.id} erfasst.` : `Klage ${body.file_reference} erfasst.`);
    },
  });
}

async function act1(item, action, quiet = false, body = {}) {
  try {
    await api(uri`/api/inbox/${item.id}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    await loadCounts();
    await loadItems(true);
    if (!quiet) status(`${item.document.source_name}: ${{ done: "erledigt", take: "übernommen", read: "gelesen", forward: "weitergeleitet", return: "zurück in der Klärung" }[action] || action}`);
  } catch (error) {
    status(error.message);
  }
}

async function bulk(action, body = {}) {
  const ids = state.selected.size ? [...state.selected] : (current() ? [current().id] : []);
  if (!ids.length) { status("Bitte zuerst Einträge markieren."); return; }
  try {
    await api("/api/inbox/bulk", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ids, action, ...body }),
    });
    state.selected.clear();
    await loadCounts();
    await loadItems(true);
    status(`${ids.length} Einträge bearbeitet.`);
  } catch (error) {
    status(error.message);
  }
}

async function askForward() {
  const dialog = document.getElementById("forward-dialog");
  const form = document.getElementById("forward-form");
  if (form.elements.to_user.options.length <= 1) {
    const staff = await api("/api/staff");
    for (const person of staff.users) form.elements.to_user.append(new Option(`${person.name} (${person.team || "–"})`, person.login));
    for (const team of staff.teams) form.elements.to_team.append(new Option(team, team));
  }
  form.querySelector(".error").textContent = "";
  dialog.showModal();
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "ok") return;
    const data = Object.fromEntries(new FormData(form));
    const body = { comment: data.comment || null };
    if (data.to_user) body.to_user = data.to_user; else if (data.to_team) body.to_team = data.to_team;
    bulk("forward", body);
  }, { once: true });
}

function askReturn() {
  const dialog = document.getElementById("return-dialog");
  const form = document.getElementById("return-form");
  dialog.showModal();
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "ok") return;
    bulk("return", { comment: new FormData(form).get("comment") });
  }, { once: true });
}

async function switchScope(scope) {
  state.scope = scope;
  state.selected.clear();
  await loadCounts();
  await loadItems();
}

function openViewer() {
  // A window of its own for the second monitor; it shows the selected document once it is up.
  const stop = window.EAkteViewer.onChange((open) => {
    if (open) { stop(); show(current()); }
  });
  window.EAkteViewer.open();
}

document.addEventListener("keydown", (event) => {
  if (!shortcutAllowed(event)) return;
  const item = current();
  const keys = {
    ArrowDown: () => moveTo(state.cursor + 1), j: () => moveTo(state.cursor + 1),
    ArrowUp: () => moveTo(state.cursor - 1), k: () => moveTo(state.cursor - 1),
    Enter: () => show(item), v: openViewer,
    x: () => { if (item) { toggle(item.id, !state.selected.has(item.id)); render(); } },
    g: () => item && act1(item, "read"), e: () => item && act1(item, "done"),
    u: () => item && item.kind === "team" && act1(item, "take"), w: askForward,
    a: () => item && item.document.bg_number && window.location.assign(uri`/akte/${item.document.bg_number}`),
    "1": () => switchScope("mine"), "2": () => switchScope("team"),
    "3": () => state.counts && state.counts.deputy.length && switchScope("deputy"),
    "?": () => document.getElementById("help").showModal(),
    r: () => register(item),
  };
  const handler = keys[event.key];
  if (handler) { event.preventDefault(); handler(); }
});

async function start() {
  const types = await api("/api/doctypes");
  const select = document.getElementById("filter-type");
  for (const type of types.doctypes) select.append(new Option(type.name, type.code));
  document.getElementById("filters").addEventListener("change", () => loadItems());
  document.getElementById("select-all").addEventListener("change", (event) => {
    state.selected = event.target.checked ? new Set(state.items.map((i) => i.id)) : new Set();
    render();
  });
  document.querySelectorAll("[data-bulk]").forEach((button) => button.addEventListener("click", () => {
    const action = button.dataset.bulk;
    if (action === "forward") askForward();
    else if (action === "return") askReturn();
    else bulk(action);
  }));
  document.getElementById("open-viewer").addEventListener("click", openViewer);
  document.getElementById("show-help").addEventListener("click", () => document.getElementById("help").showModal());
  await loadCounts();
  await loadItems();
}

document.addEventListener("DOMContentLoaded", start);
