"use strict";

// The Postkorb: own, team and deputy inboxes; the selected row is shown in the viewer window.
//
// The list (tabs with their counts, filters, rows, pager) is drawn on the server
// (web/workplace_pages.py, _postkorb_list.html): into the page for the first paint, and as
// /postkorb/liste with the same parameters when the user changes tab, filters, sort or page,
// after an action, and when something changed for the user (live.js). This script fetches it,
// swaps its parts in without taking the user's place, and keeps what is the user's own in the
// page: the row the shortcuts act on, the marked rows, the reasons opened.
const state = { scope: "mine", page: 1, selected: new Set(), opened: new Set(), pending: null, views: null };
// Every list asked for gets a ticket; what the user asked for last (`user`) and what was shown
// last (`shown`) decide whether an answer may still be shown.
const tickets = { asked: 0, user: 0, shown: 0, recheck: false };
// live.js (an ES module, loaded in start()): the list and counts follow what changes for the user.
let live = null;
// What is kept in the address (so that reload and Back come back to it): tab, filters, sort,
// page and the selected row. A value at its default is left out.
const FILTERS = ["doc_type", "state", "sort"];
const DEFAULTS = { doc_type: "", state: "open", sort: "received" };
// The objections office registers objections and court letters from here in one step.
const OFFICE = document.getElementById("postkorb").dataset.legal === "True";

const list = () => document.getElementById("postkorb-list");
const tbody = () => document.getElementById("inbox-rows");
const rows = () => [...tbody().querySelectorAll("tr")];

function status(message) {
  document.getElementById("inbox-status").textContent = message;
}

function notice(text, action = null, onAction = null) {
  if (live) live.notice(document.getElementById("live-notice"), text, action, onAction);
}

// --- the address ------------------------------------------------------------------------------

// /postkorb?tab=team&state=done&sort=oldest&doc_type=…&page=2&item=12 (`item`: the row, if not
// the first).
function addressOf(item = undefined) {
  const filters = new FormData(document.getElementById("filters"));
  const params = new URLSearchParams();
  if (state.scope !== "mine") params.set("tab", state.scope);
  for (const name of FILTERS) {
    const value = filters.get(name);
    if (value && value !== DEFAULTS[name]) params.set(name, value);
  }
  if (state.page > 1) params.set("page", state.page);
  const chosen = item === undefined ? cursorItem() : item;
  if (chosen) params.set("item", chosen);
  const query = params.toString();
  return `/postkorb${query ? `?${query}` : ""}`;
}

// The id of the row the shortcuts act on, when it is not the first (the list starts there).
function cursorItem() {
  const index = cursorIndex();
  return index > 0 ? rows()[index].dataset.id : null;
}

function remember(push = false) {
  drawViews();
  const address = addressOf();
  if (address === location.pathname + location.search) return;
  if (push) history.pushState(null, "", address); else history.replaceState(null, "", address);
}

// What the shown list stands for (tab and page), as the server drew it.
function takeView() {
  state.scope = list().dataset.tab;
  state.page = Number(new URLSearchParams(list().dataset.address.split("?")[1] || "").get("page")) || 1;
}

// --- the server's list: fetched, and swapped in part by part ------------------------------------

// The server's list (format.js's fetchPart); a list the script asked for by itself is marked as
// no activity of the user's.
async function fetchList(address, background) {
  const answer = await fetchPart(address.replace(/^\/postkorb/, "/postkorb/liste"), {
    headers: background ? live.BACKGROUND : {},
  });
  const fresh = answer.document && answer.document.getElementById("postkorb-list");
  if (answer.status !== 200 || !fresh) {
    return { error: answer.loggedOut || answer.status === 0 ? answer.error : "Die Liste konnte nicht geladen werden." };
  }
  return { list: fresh };
}

// The tabs: their counts change in place where the tabs are the same (a tab with focus keeps it).
function syncTabs(fresh) {
  const nav = document.getElementById("scopes");
  const scopes = (element) => [...element.children].map((b) => b.dataset.scope).join();
  if (scopes(nav) !== scopes(fresh)) { nav.replaceChildren(...fresh.childNodes); return; }
  [...fresh.children].forEach((button, index) => {
    const mine = nav.children[index];
    mine.className = button.className;
    mine.setAttribute("aria-pressed", button.getAttribute("aria-pressed"));
    mine.replaceChildren(...button.childNodes);
  });
}

// The block of due follow-ups (issue 19), which the list's answer carries before the list, is
// drawn anew only when it says something else, so a control in it keeps its focus meanwhile.
function syncFollowUps(fresh) {
  const mine = document.getElementById("postkorb-followups");
  const theirs = fresh.ownerDocument.getElementById("postkorb-followups");
  if (!mine || !theirs) return;
  const text = (element) => element.textContent.replace(/\s+/g, " ").trim();
  if (text(mine) !== text(theirs)) mine.replaceChildren(...theirs.childNodes);
}

// The filters show what the list was drawn for; a field keeps its place (and focus).
function syncFilters(fresh) {
  for (const field of fresh.querySelectorAll("select[id]")) {
    const mine = document.getElementById(field.id);
    const options = (select) => [...select.options].map((o) => `${o.value}=${o.text}`).join("|");
    if (options(mine) !== options(field)) mine.replaceChildren(...field.childNodes);
    mine.value = field.value;
  }
}

// The header's count of new items, from the counts the list was drawn with.
function syncNav(fresh) {
  const number = (name) => Number(fresh.dataset[name]) || 0;
  if (typeof refreshNavCount === "function") {
    refreshNavCount({ mine: { new: number("navMine") }, team: { new: number("navTeam") }, deputy: [{ open: number("navDeputy") }] });
  }
  list().dataset.tab = fresh.dataset.tab;
  list().dataset.address = fresh.dataset.address;
  list().dataset.total = fresh.dataset.total;
}

// What the user did to rows survives their being drawn anew: marks and opened reasons.
function restoreRows() {
  const ids = new Set(rows().map((row) => row.dataset.id));
  state.selected = new Set([...state.selected].filter((id) => ids.has(id)));
  state.opened = new Set([...state.opened].filter((id) => ids.has(id)));
  for (const row of rows()) {
    row.querySelector(".pick").checked = state.selected.has(row.dataset.id);
    if (state.opened.has(row.dataset.id)) showReason(row, true);
  }
  document.getElementById("selected-count").textContent = `${state.selected.size} markiert`;
}

// Swaps a fetched list in: the row with `keepId` keeps the cursor, else the row at `keepIndex`
// (the next one after an item left), else the one the server marked. `said` replaces the
// list's own status line (after an action).
function showList(fresh, { keepId = null, keepIndex = -1, said = null } = {}) {
  state.pending = null;
  notice("");
  syncTabs(fresh.querySelector("#scopes"));
  syncFilters(fresh.querySelector("#filters"));
  syncNav(fresh);
  syncFollowUps(fresh);
  const draw = () => {
    tbody().replaceChildren(...fresh.querySelector("#inbox-rows").childNodes);
    restoreRows();
  };
  if (live) live.keepFocus(tbody(), "tr", draw); else draw();
  document.getElementById("pager").replaceChildren(...fresh.querySelector("#pager").childNodes);
  takeView();
  const all = rows();
  const kept = keepId ? all.findIndex((row) => row.dataset.id === String(keepId)) : -1;
  if (kept >= 0) markCursor(kept);
  else if (keepIndex >= 0 && all.length) markCursor(Math.min(keepIndex, all.length - 1));
  else markCursor(Math.max(0, all.findIndex((row) => row.getAttribute("aria-current") === "true")));
  status(said || fresh.querySelector("#inbox-status").textContent);
  remember();
}

// The list as the user asked for it (`address`: what to show; by default what is shown, with
// the row the cursor is on). An answer that a newer request of the user's overtook is dropped.
async function loadList({ address = null, keepIndex = -1, said = null } = {}) {
  const wanted = address || addressOf();
  const ticket = ++tickets.asked;
  tickets.user = ticket;
  const before = currentId();
  const answer = await fetchList(wanted, false);
  if (ticket !== tickets.user || ticket < tickets.shown) return;
  if (answer.error) { status(answer.error); return; }
  tickets.shown = ticket;
  // The row the user moved to while the list was asked for keeps the cursor.
  const moved = currentId() !== before ? currentId() : null;
  const keepId = moved || new URLSearchParams(wanted.split("?")[1] || "").get("item");
  showList(answer.list, { keepId, keepIndex, said });
  // A change announced while this was asked for is looked at now (against this list).
  if (tickets.recheck) { tickets.recheck = false; await liveChange(); }
}

// What tells two drawings of the rows apart (not where the cursor is, nor which reason is open).
function signature(container) {
  return [...container.querySelectorAll("tr")]
    .map((row) => `${row.dataset.id}|${row.dataset.state}|${row.textContent.replace(/[▸▾]/g, "").replace(/\s+/g, " ")}`).join("\n");
}

// Something changed for the user (live.js asked): the counts follow at once; the list only
// where that moves no row the user is on, else a quiet notice offers it ("2 neue Einträge –
// anzeigen"). The row with the cursor (and focus) keeps its place and its focus.
async function liveChange() {
  // The user's own request is under way: its answer is shown first (with what it says).
  if (tickets.user > tickets.shown) { tickets.recheck = true; return; }
  const ticket = ++tickets.asked;
  const answer = await fetchList(addressOf(), true);
  // The user changed the view meanwhile, or a later answer is shown: that list is the newer one.
  if (answer.error || ticket < tickets.user || ticket < tickets.shown) return;
  const fresh = answer.list;
  const current = currentId();
  const freshRows = fresh.querySelector("#inbox-rows");
  if (signature(freshRows) === signature(tbody())) {
    tickets.shown = ticket;
    syncTabs(fresh.querySelector("#scopes"));
    syncNav(fresh);
    syncFollowUps(fresh);
    state.pending = null;
    notice("");
    return;
  }
  const shown = rows().map((row) => row.dataset.id);
  const ids = [...freshRows.querySelectorAll("tr")].map((row) => row.dataset.id);
  const added = ids.filter((id) => !shown.includes(id));
  const gone = shown.filter((id) => !ids.includes(id));
  if (!current || ids.indexOf(current) === cursorIndex()) {
    tickets.shown = ticket;
    showList(fresh, { keepId: current });
    if (added.length) notice(`${newEntries(added.length)} in der Liste.`);
    return;
  }
  syncTabs(fresh.querySelector("#scopes"));
  syncNav(fresh);
  syncFollowUps(fresh);
  state.pending = { fresh, added, ticket };
  const parts = [];
  if (added.length) parts.push(newEntries(added.length));
  if (gone.length) parts.push(`${gone.length} ${gone.length === 1 ? "Eintrag" : "Einträge"} nicht mehr in der Liste`);
  if (!parts.length) parts.push("Die Liste hat sich geändert");
  notice(parts.join(", "), "anzeigen", showPending);
}

function newEntries(count) {
  return count === 1 ? "1 neuer Eintrag" : `${count} neue Einträge`;
}

// The list the notice offered: the cursor (and focus) on the first new row, else where it was.
function showPending() {
  const pending = state.pending;
  if (!pending || pending.ticket < tickets.user || pending.ticket < tickets.shown) return;
  tickets.shown = pending.ticket;
  showList(pending.fresh, { keepId: pending.added.length ? pending.added[0] : currentId() });
  const row = rows()[cursorIndex()];
  if (row) { row.focus(); row.scrollIntoView({ block: "nearest" }); }
}

// --- rows ----------------------------------------------------------------------------------------

function cursorIndex() {
  return rows().findIndex((row) => row.classList.contains("cursor"));
}

function current() {
  const index = cursorIndex();
  return index >= 0 ? rows()[index] : null;
}

function currentId() {
  const row = current();
  return row ? row.dataset.id : null;
}

// The row the shortcuts act on, marked for the eye and for screen readers.
function markCursor(index) {
  rows().forEach((row, i) => {
    row.classList.toggle("cursor", i === index);
    if (i === index) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
  });
}

function moveTo(index, follow = true) {
  const all = rows();
  if (index < 0 || index >= all.length) return;
  markCursor(index);
  remember();
  all[index].scrollIntoView({ block: "nearest" });
  // The viewer window follows the selection, if one is open.
  if (follow && window.EAkteViewer) {
    window.EAkteViewer.isOpen().then((open) => { if (open) show(current()); });
  }
}

// The routing reason (and a forwarding comment) on demand, in a line of its own below the row.
function showReason(row, open) {
  const button = row.querySelector("[data-act=reason]");
  document.getElementById(button.getAttribute("aria-controls")).hidden = !open;
  button.setAttribute("aria-expanded", open ? "true" : "false");
  button.querySelector("span").textContent = open ? "▾" : "▸";
}

function toggleReason(row) {
  const open = !state.opened.has(row.dataset.id);
  if (open) state.opened.add(row.dataset.id); else state.opened.delete(row.dataset.id);
  showReason(row, open);
}

function toggle(id, on) {
  if (on) state.selected.add(id); else state.selected.delete(id);
  document.getElementById("selected-count").textContent = `${state.selected.size} markiert`;
}

function show(row) {
  if (!row || !row.querySelector("[data-act=show]")) return;
  window.EAkteViewer.show(row.dataset.document, { page: 1 });
  if (row.dataset.state === "new") act(row, "read", true);
}

function register(row) {
  if (!OFFICE || !row || !row.querySelector("[data-act=register]")) return;
  window.EAkteLegal.register(row.dataset.document, {
    onDone: async ({ kind, body }) => {
      await loadList();
      status(kind === "objection" ? `Widerspruch Nr. ${body.id} erfasst.` : `Klage ${body.file_reference} erfasst.`);
    },
  });
}

// One action on one row; the server says what was done ("brief.pdf: erledigt"). The cursor
// stays on the row, or where it was if the row left the list.
async function act(row, action, quiet = false, body = {}) {
  const index = rows().indexOf(row);
  try {
    const done = await api(uri`/api/inbox/${row.dataset.id}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    await loadList({ address: addressOf(row.dataset.id), keepIndex: index, said: quiet ? null : done.said });
  } catch (error) {
    status(error.message);
  }
}

// A shortcut for an action works where the row offers its button.
function press(action) {
  const row = current();
  if (row && row.querySelector(`[data-act=${action}]`)) act(row, action);
}

// --- marked entries ------------------------------------------------------------------------------

// The marked entries, or the one the cursor is on.
function targets() {
  return state.selected.size ? [...state.selected].map(Number) : (current() ? [Number(current().dataset.id)] : []);
}

// Throws with the server's German message; the caller decides where to show it.
async function bulkRequest(ids, action, body = {}) {
  await api("/api/inbox/bulk", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ids, action, ...body }),
  });
  state.selected.clear();
  await loadList({ keepIndex: Math.max(0, cursorIndex()), said: `${ids.length} Einträge bearbeitet.` });
}

async function bulk(action, body = {}) {
  const ids = targets();
  if (!ids.length) { status("Bitte zuerst Einträge markieren."); return; }
  try {
    await bulkRequest(ids, action, body);
  } catch (error) {
    status(error.message);
  }
}

function openDialog(id) {
  const form = document.querySelector(`#${id} form`);
  form.reset();
  clearFieldErrors(form);
  form.querySelector(".error").textContent = "";
  document.getElementById(id).showModal();
}

async function askForward() {
  if (!targets().length) { status("Bitte zuerst Einträge markieren."); return; }
  const form = document.getElementById("forward-form");
  if (form.elements.to_user.options.length <= 1) {
    const staff = await api("/api/staff");
    for (const person of staff.users) form.elements.to_user.append(new Option(`${person.name} (${person.team || "–"})`, person.login));
    for (const team of staff.teams) form.elements.to_team.append(new Option(team, team));
  }
  openDialog("forward-dialog");
}

function askReturn() {
  if (!targets().length) { status("Bitte zuerst Einträge markieren."); return; }
  openDialog("return-dialog");
}

// "Duplikat verwerfen …": a confirmation that wants a reason (the server says when it is missing).
let discarding = null;

function askDiscard(row) {
  const button = row && row.querySelector("[data-act=discard]");
  if (!button) return;
  discarding = row;
  openDialog("discard-dialog");
  document.getElementById("discard-what").textContent = button.dataset.confirm;
}

function bindDialogs() {
  dialogForm(document.getElementById("forward-form"), (data) => {
    if (!data.to_user && !data.to_team) return { to_user: "Bitte eine Person oder ein Team wählen, an die oder das weitergeleitet wird." };
    if (data.to_user && data.to_team) return { to_team: "Bitte entweder eine Person oder ein Team wählen, nicht beides." };
    return {};
  }, (data) => {
    const body = { comment: data.comment || null };
    if (data.to_user) body.to_user = data.to_user; else body.to_team = data.to_team;
    return bulkRequest(targets(), "forward", body);
  }, {
    forward_reason: "comment",
    forward_target: "to_user",
    forward_to_self: "to_user",
    forward_no_access: (data) => (data.to_user ? "to_user" : "to_team"),
  });
  dialogForm(document.getElementById("return-form"), (data) => (
    (data.comment || "").trim() ? {} : { comment: "Bitte begründen, warum das Dokument zurück in die Klärung geht." }
  ), (data) => bulkRequest(targets(), "return", { comment: data.comment }), { return_reason: "comment" });
  dialogForm(document.getElementById("discard-form"), () => ({}), async (data) => {
    const row = discarding;
    const index = rows().indexOf(row);
    const done = await api(uri`/api/inbox/${row.dataset.id}/discard`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ reason: data.reason }),
    });
    discarding = null;
    await loadList({ address: addressOf(null), keepIndex: index, said: done.said });
  }, { discard_reason: "reason" });
}

async function switchScope(scope) {
  if (scope === "deputy" && !document.querySelector("#scopes [data-scope=deputy]")) return;
  state.scope = scope;
  state.page = 1;
  state.selected.clear();
  const address = addressOf(null);
  history.pushState(null, "", address);
  await loadList({ address });
}

// --- saved views: tab, filters and sort under a name of the user's own (stored on the server) ---

const VIEW_DEFAULTS = { tab: "mine", ...DEFAULTS };

// A view's address, built from its parameters (as the server checked them).
function viewAddress(params) {
  const query = new URLSearchParams();
  for (const name of ["tab", "state", "sort", "doc_type"]) {
    if (params[name] && params[name] !== VIEW_DEFAULTS[name]) query.set(name, params[name]);
  }
  const text = query.toString();
  return `${location.pathname}${text ? `?${text}` : ""}`;
}

function shownParams() {
  const filters = new FormData(document.getElementById("filters"));
  return { tab: state.scope, state: filters.get("state"), sort: filters.get("sort"), doc_type: filters.get("doc_type") };
}

async function loadViews() {
  try {
    state.views = (await api("/api/views/postkorb")).views;
  } catch (error) {
    document.getElementById("views-status").textContent = error.message;
    return;
  }
  drawViews();
}

function drawViews() {
  if (!state.views) return;
  const here = viewAddress(shownParams());
  const views = document.getElementById("views-list");
  setHtml(views, state.views.length ? html`${state.views.map((view) => html`<li data-id="${view.id}">
    <a href="${viewAddress(view.params)}" aria-current="${viewAddress(view.params) === here ? "page" : "false"}">${view.name}</a>
    <button type="button" class="secondary" data-delete="${view.id}" aria-label="Ansicht »${view.name}« löschen">Löschen</button></li>`)}`
    : html`<li class="hint">Noch keine gespeicherten Ansichten.</li>`);
  document.getElementById("views-count").textContent = state.views.length || "";
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
  const row = current();
  const keys = {
    ArrowDown: () => moveTo(cursorIndex() + 1), j: () => moveTo(cursorIndex() + 1),
    ArrowUp: () => moveTo(cursorIndex() - 1), k: () => moveTo(cursorIndex() - 1),
    Enter: () => show(row), v: openViewer,
    x: () => { if (row) { const box = row.querySelector(".pick"); box.checked = !box.checked; toggle(row.dataset.id, box.checked); } },
    g: () => row && act(row, "read"), e: () => press("done"), o: () => press("reopen"), u: () => press("take"),
    w: askForward,
    a: () => row && row.dataset.bg && window.location.assign(uri`/akte/${row.dataset.bg}`),
    "1": () => switchScope("mine"), "2": () => switchScope("team"), "3": () => switchScope("deputy"),
    "?": () => document.getElementById("help").showModal(),
    r: () => register(row),
  };
  const handler = keys[event.key];
  if (handler) { event.preventDefault(); handler(); }
});

function bindList() {
  const box = list();
  // The list's parts are drawn anew: their events are taken where they bubble to.
  box.addEventListener("change", (event) => {
    if (event.target.closest("#filters")) {
      // The address follows once the list is shown (as Back and reload will show it).
      state.page = 1;
      loadList({ address: addressOf(null) });
    } else if (event.target.id === "select-all") {
      for (const row of rows()) {
        row.querySelector(".pick").checked = event.target.checked;
        toggle(row.dataset.id, event.target.checked);
      }
    } else if (event.target.classList.contains("pick")) {
      toggle(event.target.closest("tr").dataset.id, event.target.checked);
    }
  });
  box.addEventListener("submit", (event) => event.preventDefault());
  box.addEventListener("click", (event) => {
    const tab = event.target.closest("#scopes [data-scope]");
    if (tab) { switchScope(tab.dataset.scope); return; }
    const page = event.target.closest("#pager a.page-link");
    if (page) {
      event.preventDefault();
      const address = new URL(page.href).pathname + new URL(page.href).search;
      history.pushState(null, "", address);
      loadList({ address });
      return;
    }
    const bulkButton = event.target.closest("[data-bulk]");
    if (bulkButton) {
      const action = bulkButton.dataset.bulk;
      if (action === "forward") askForward();
      else if (action === "return") askReturn();
      else bulk(action);
      return;
    }
    const row = event.target.closest("#inbox-rows tr");
    if (!row || event.target.closest("a") || event.target.classList.contains("pick")) return;
    const button = event.target.closest("[data-act]");
    const action = button ? button.dataset.act : undefined;
    moveTo(rows().indexOf(row), !action);
    if (action === "reason") toggleReason(row);
    else if (action === "show") show(row);
    else if (action === "register") register(row);
    else if (action === "discard") askDiscard(row);
    else if (action) act(row, action);
  });
  // The row whose link or button has focus is the one the shortcuts act on.
  box.addEventListener("focusin", (event) => {
    const row = event.target.closest("#inbox-rows tr");
    if (row && event.target !== row && !row.classList.contains("cursor")) markCursor(rows().indexOf(row));
  });
}

async function start() {
  takeView();
  bindList();
  window.addEventListener("popstate", () => {
    state.selected.clear();
    loadList({ address: location.pathname + location.search });
  });
  bindDialogs();
  document.getElementById("open-viewer").addEventListener("click", openViewer);
  document.getElementById("show-help").addEventListener("click", () => document.getElementById("help").showModal());
  savedViews("postkorb", loadViews);
  live = await import("/static/live.js");
  // The list was drawn with the state its token names: what changes after that is shown.
  await live.watch("/api/inbox/changes", liveChange, {
    since: list().dataset.token,
    onEnd: (message) => notice(message, "neu anmelden", live.logInAgain),
  }).ready;
  await loadViews();
}

document.addEventListener("DOMContentLoaded", start);
