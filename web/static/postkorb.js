"use strict";

// The Postkorb: own, team and deputy inboxes; the selected row is shown in the viewer window.
const state = { scope: "mine", items: [], cursor: -1, selected: new Set(), counts: null, opened: new Set(), pending: null, views: null, loads: 0 };
// live.js (an ES module, loaded in start()): the list and counts follow what changes for the user.
let live = null;
// What is kept in the address (so that reload and Back come back to it): tab, filters, sort
// and the selected row.
const FILTERS = ["doc_type", "state", "sort"];
const DEFAULTS = { doc_type: "", state: "open", sort: "received" };
// The objections office registers objections and court letters from here in one step.
const OFFICE = document.getElementById("postkorb").dataset.legal === "True";

function status(message) {
  document.getElementById("inbox-status").textContent = message;
}

// `background`: asked because something changed, not by the user (see live.js BACKGROUND).
async function loadCounts(background = false) {
  state.counts = await api("/api/inbox/counts", background ? { headers: live.BACKGROUND } : {});
  const tabs = [["mine", "Mein Postkorb", state.counts.mine], ["team", "Team", state.counts.team]]
    .map(([scope, label, count]) => [scope, label, count.new ? `${count.new} neu / ${count.open}` : count.open]);
  if (state.counts.deputy.length) tabs.push(["deputy", `Vertretung: ${state.counts.deputy.map((d) => d.name).join(", ")}`,
    state.counts.deputy.reduce((sum, d) => sum + d.open, 0)]);
  // The tabs are drawn anew only when there are others; else their counts change in place, so
  // that a tab with focus keeps it when the counts change.
  const nav = document.getElementById("scopes");
  if ([...nav.children].map((b) => b.dataset.scope).join() !== tabs.map(([scope]) => scope).join()) {
    nav.replaceChildren(...tabs.map(([scope]) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.scope = scope;
      button.addEventListener("click", () => switchScope(scope));
      return button;
    }));
  }
  tabs.forEach(([scope, label, count], index) => {
    const button = nav.children[index];
    button.className = `tab${state.scope === scope ? " active" : ""}`;
    button.setAttribute("aria-pressed", state.scope === scope ? "true" : "false");
    setHtml(button, html`${label} <span class="count">${count}</span>`);
  });
  if (typeof refreshNavCount === "function") refreshNavCount(state.counts);
}

// The address of what is shown: /postkorb?tab=team&state=done&sort=oldest&doc_type=…&item=12
function addressOf() {
  const filters = new FormData(document.getElementById("filters"));
  const params = new URLSearchParams();
  if (state.scope !== "mine") params.set("tab", state.scope);
  for (const name of FILTERS) {
    const value = filters.get(name);
    if (value && value !== DEFAULTS[name]) params.set(name, value);
  }
  // The first row is where the list starts anyway; another row is named.
  const item = current();
  if (item && state.cursor > 0) params.set("item", item.id);
  const query = params.toString();
  return `${location.pathname}${query ? `?${query}` : ""}`;
}

function remember(push = false) {
  drawViews();
  const address = addressOf();
  if (address === location.pathname + location.search) return;
  if (push) history.pushState(null, "", address); else history.replaceState(null, "", address);
}

// Tab, filters and selected row from the address (on load and on Back/Forward).
function restore() {
  const params = new URLSearchParams(location.search);
  const tab = params.get("tab");
  state.scope = ["mine", "team", "deputy"].includes(tab) ? tab : "mine";
  const form = document.getElementById("filters");
  for (const name of FILTERS) {
    const select = form.elements[name];
    const wanted = params.get(name);
    select.value = wanted && [...select.options].some((o) => o.value === wanted) ? wanted : DEFAULTS[name];
  }
  return Number(params.get("item")) || null;
}

// The list as the filters and tab ask for it.
function fetchItems(background = false) {
  const filters = new FormData(document.getElementById("filters"));
  const params = new URLSearchParams({ scope: state.scope, state: filters.get("state"), sort: filters.get("sort") });
  if (filters.get("doc_type")) params.set("doc_type", filters.get("doc_type"));
  return api(`/api/inbox?${params}`, background ? { headers: live.BACKGROUND } : {});
}

async function loadItems(keepCursor = false, wantedId = null) {
  const keptId = keepCursor && current() ? current().id : wantedId;
  state.loads += 1;
  const body = await fetchItems();
  showItems(body, keptId, keepCursor);
}

// Shows a fetched list: the row with `keptId` keeps the cursor (else the first row).
function showItems(body, keptId = null, keepCursor = false) {
  state.items = body.items;
  state.pending = null;
  if (live) live.notice(document.getElementById("live-notice"), "");
  state.selected = new Set([...state.selected].filter((id) => body.items.some((i) => i.id === id)));
  const kept = keptId ? state.items.findIndex((i) => i.id === keptId) : -1;
  if (kept >= 0) state.cursor = kept;
  else if (!keepCursor || state.cursor >= state.items.length) state.cursor = state.items.length ? 0 : -1;
  render();
  remember();
  const rejected = state.items.filter((i) => i.document.qa_status === "rejected" && i.state !== "done");
  const notices = [`${body.total} Einträge`];
  if (rejected.length) {
    const why = rejected.slice(0, 3).map((i) => `${i.document.doc_type_name || "Dokument"} (${i.document.source_name}): ${i.comment || "zur Neuerfassung abgelehnt"}`);
    notices.push(`${rejected.length} ${rejected.length === 1 ? "Dokument wurde" : "Dokumente wurden"} von der Scanstelle zur Neuerfassung abgelehnt und ${rejected.length === 1 ? "ist" : "sind"} nicht mehr in der Akte; nach dem neuen Scan ${rejected.length === 1 ? "kommt es" : "kommen sie"} wieder. ${why.join("; ")}`);
  }
  status(notices.join(". ") + ".");
}

// A letter read before (issue 15): linked to the earlier one where the user may see it.
function duplicateLink(mark) {
  return mark.earlier_id ? html`<a href="${uri`/dokument/${mark.earlier_id}`}">${mark.text}</a>` : mark.text;
}

function duplicateBadge(mark) {
  if (!mark) return "";
  return mark.earlier_id
    ? html`<a class="badge duplicate" href="${uri`/dokument/${mark.earlier_id}`}" title="${mark.text}">Duplikat</a> `
    : html`<span class="badge duplicate" title="${mark.text}">Duplikat</span> `;
}

// Something changed for the user (live.js asked): the counts follow at once; the list only
// where that moves no row the user is on, else a quiet notice offers it ("2 neue Einträge –
// anzeigen"). The row with the cursor (and focus) keeps its place and its focus.
async function liveChange() {
  await loadCounts(true);
  const loads = state.loads;
  const body = await fetchItems(true);
  // The user changed tab or filters meanwhile: that list is the newer one.
  if (loads !== state.loads) return;
  const shown = state.items.map((i) => i.id);
  const fresh = body.items.map((i) => i.id);
  const added = fresh.filter((id) => !shown.includes(id));
  const gone = shown.filter((id) => !fresh.includes(id));
  if (JSON.stringify(body.items) === JSON.stringify(state.items)) {
    state.pending = null;
    live.notice(document.getElementById("live-notice"), "");
    return;
  }
  const item = current();
  const stays = !item || fresh.indexOf(item.id) === state.cursor;
  if (stays) {
    live.keepFocus(document.getElementById("inbox-rows"), "tr", () => showItems(body, item ? item.id : null, true));
    if (added.length) live.notice(document.getElementById("live-notice"), `${newEntries(added.length)} in der Liste.`);
    return;
  }
  state.pending = { body, added };
  const parts = [];
  if (added.length) parts.push(newEntries(added.length));
  if (gone.length) parts.push(`${gone.length} ${gone.length === 1 ? "Eintrag" : "Einträge"} nicht mehr in der Liste`);
  if (!parts.length) parts.push("Die Liste hat sich geändert");
  live.notice(document.getElementById("live-notice"), parts.join(", "), "anzeigen", showPending);
}

function newEntries(count) {
  return count === 1 ? "1 neuer Eintrag" : `${count} neue Einträge`;
}

// The list the notice offered: the cursor (and focus) on the first new row, else where it was.
function showPending() {
  if (!state.pending) return;
  const { body, added } = state.pending;
  const item = current();
  showItems(body, added.length ? added[0] : (item ? item.id : null), true);
  const row = document.querySelectorAll("#inbox-rows tr")[state.cursor];
  if (row) { row.focus(); row.scrollIntoView({ block: "nearest" }); }
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
    const rejected = doc.qa_status === "rejected";
    const where = item.kind === "team" ? html` <span class="badge">Team ${item.team}</span>` : "";
    const household = doc.bg_number
      ? html`<a href="${uri`/akte/${doc.bg_number}`}">${doc.bg_number}</a> <span class="hint">${doc.household_name || ""}</span>`
      : "–";
    const open = state.opened.has(item.id);
    const detailId = `reason-${item.id}`;
    setHtml(row, html`
      <td><input type="checkbox" class="pick" aria-label="${rowName(item)} markieren"${state.selected.has(item.id) ? html` checked` : ""}></td>
      <td class="nowrap">${germanDate(doc.receipt_date)}${item.state === "new" ? html` <span class="badge new">neu</span>` : ""}${item.state === "done" ? html` <span class="badge approved">erledigt</span>` : ""}</td>
      <td><div class="line wide">${duplicateBadge(doc.duplicate)}<span class="type">${doc.doc_type_name || "–"}</span> <span class="hint">${doc.source_name} · ${doc.pages} S.</span>${where}${rejected ? html` <span class="badge rejected">zur Neuerfassung abgelehnt</span>` : ""}</div></td>
      <td><div class="line">${household}</div></td>
      <td class="reason"><button type="button" class="disclosure" data-act="reason" aria-expanded="${open ? "true" : "false"}" aria-controls="${detailId}" aria-label="Grund: ${rowName(item)}"><span aria-hidden="true">${open ? "▾" : "▸"}</span> Grund${item.comment ? " und Kommentar" : ""}</button></td>
      <td class="actions">
        ${rejected ? "" : html`<button type="button" class="secondary" data-act="show" title="Im Anzeigefenster zeigen (Enter)">Anzeigen</button>`}
        ${rejected ? "" : html`<a href="${`${uri`/dokument/${doc.id}`}?liste=postkorb&${addressOf().split("?")[1] || ""}`}" aria-label="Dokumentseite: ${rowName(item)}">Dokumentseite</a>`}
        ${OFFICE && doc.bg_number && !rejected ? html`<button type="button" data-act="register" title="Als Widerspruch oder Klage erfassen (r)">${doc.doc_type === "klage" ? "Klage erfassen" : "Widerspruch erfassen"}</button>` : ""}
        ${item.kind === "team" && !rejected ? html`<button type="button" data-act="take" title="Übernehmen (u)">Übernehmen</button>` : ""}
        ${item.state !== "done" ? html`<button type="button" data-act="done" title="Erledigt (e)">Erledigt</button>` : ""}
        ${item.state === "done" && !rejected ? html`<button type="button" class="secondary" data-act="reopen" title="Wieder öffnen (o)">Wieder öffnen</button>` : ""}
      </td>`);
    const detail = document.createElement("div");
    detail.className = "reason-text";
    detail.id = detailId;
    detail.hidden = !open;
    const reason = document.createElement("div");
    reason.textContent = item.reason;
    detail.append(reason);
    if (doc.duplicate) {
      const mark = document.createElement("div");
      setHtml(mark, html`${duplicateLink(doc.duplicate)} (${doc.duplicate.kind_name})`);
      detail.append(mark);
    }
    if (item.comment) {
      const note = document.createElement("div");
      note.className = rejected ? "notice" : "hint";
      note.textContent = item.forwarded_by ? `${item.forwarded_by}: ${item.comment}` : item.comment;
      detail.append(note);
    }
    row.querySelector("td.reason").append(detail);
    row.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      if (event.target.classList.contains("pick")) {
        toggle(item.id, event.target.checked);
        return;
      }
      const act = event.target.closest("[data-act]") ? event.target.closest("[data-act]").dataset.act : undefined;
      moveTo(index, !act);
      if (act === "reason") toggleReason(item, row, detail);
      else if (act === "show") show(item);
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

// The routing reason (and a forwarding comment) on demand, in a line of its own below the row.
function toggleReason(item, row, detail) {
  const open = !state.opened.has(item.id);
  if (open) state.opened.add(item.id); else state.opened.delete(item.id);
  detail.hidden = !open;
  const button = row.querySelector("[data-act=reason]");
  button.setAttribute("aria-expanded", open ? "true" : "false");
  button.querySelector("span").textContent = open ? "▾" : "▸";
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
  remember();
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
    if (!quiet) status(`${item.document.source_name}: ${{ done: "erledigt", take: "übernommen", read: "gelesen", forward: "weitergeleitet", return: "zurück in der Klärung", reopen: "wieder geöffnet" }[action] || action}`);
  } catch (error) {
    status(error.message);
  }
}

// The marked entries, or the one the cursor is on.
function targets() {
  return state.selected.size ? [...state.selected] : (current() ? [current().id] : []);
}

// Throws with the server's German message; the caller decides where to show it.
async function bulkRequest(ids, action, body = {}) {
  await api("/api/inbox/bulk", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ids, action, ...body }),
  });
  state.selected.clear();
  await loadCounts();
  await loadItems(true);
  status(`${ids.length} Einträge bearbeitet.`);
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

async function askForward() {
  if (!targets().length) { status("Bitte zuerst Einträge markieren."); return; }
  const dialog = document.getElementById("forward-dialog");
  const form = document.getElementById("forward-form");
  if (form.elements.to_user.options.length <= 1) {
    const staff = await api("/api/staff");
    for (const person of staff.users) form.elements.to_user.append(new Option(`${person.name} (${person.team || "–"})`, person.login));
    for (const team of staff.teams) form.elements.to_team.append(new Option(team, team));
  }
  form.reset();
  clearFieldErrors(form);
  form.querySelector(".error").textContent = "";
  dialog.showModal();
}

function askReturn() {
  if (!targets().length) { status("Bitte zuerst Einträge markieren."); return; }
  const form = document.getElementById("return-form");
  form.reset();
  clearFieldErrors(form);
  form.querySelector(".error").textContent = "";
  document.getElementById("return-dialog").showModal();
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
}

async function switchScope(scope) {
  state.scope = scope;
  state.selected.clear();
  state.cursor = -1;
  history.pushState(null, "", addressOf());
  await loadCounts();
  await loadItems();
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
  const list = document.getElementById("views-list");
  setHtml(list, state.views.length ? html`${state.views.map((view) => html`<li data-id="${view.id}">
    <a href="${viewAddress(view.params)}" aria-current="${viewAddress(view.params) === here ? "page" : "false"}">${view.name}</a>
    <button type="button" class="secondary" data-delete="${view.id}" aria-label="Ansicht »${view.name}« löschen">Löschen</button></li>`)}`
    : html`<li class="hint">Noch keine gespeicherten Ansichten.</li>`);
  document.getElementById("views-count").textContent = state.views.length || "";
}

function toggleViews(open) {
  const button = document.getElementById("views-toggle");
  button.setAttribute("aria-expanded", open ? "true" : "false");
  document.getElementById("views-panel").hidden = !open;
}

function bindViews() {
  const button = document.getElementById("views-toggle");
  const panel = document.getElementById("views-panel");
  const form = document.getElementById("view-form");
  const said = document.getElementById("views-status");
  button.addEventListener("click", () => toggleViews(panel.hidden));
  panel.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    toggleViews(false);
    button.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = form.elements.name.value.trim();
    if (!name) { showFieldErrors(form, { name: "Bitte einen Namen für die Ansicht angeben." }); return; }
    try {
      // The address holds the view; the server keeps only what belongs to one (not the row).
      const view = await api("/api/views/postkorb", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name, query: location.search.replace(/^\?/, "") }),
      });
      clearFieldErrors(form);
      form.reset();
      await loadViews();
      said.textContent = `Ansicht »${view.name}« gespeichert.`;
    } catch (error) {
      showFieldErrors(form, { name: error.message });
    }
  });
  document.getElementById("views-list").addEventListener("click", async (event) => {
    const remove = event.target.closest("[data-delete]");
    if (!remove) return;
    const row = remove.closest("li");
    const next = row.nextElementSibling || row.previousElementSibling;
    try {
      const view = await api(`/api/views/postkorb/${encodeURIComponent(remove.dataset.delete)}`, { method: "DELETE" });
      await loadViews();
      said.textContent = `Ansicht »${view.name}« gelöscht.`;
      // Focus stays in the list: on the view that took its place, else on the name field.
      const there = next && document.querySelector(`#views-list li[data-id="${CSS.escape(next.dataset.id || "")}"] a`);
      (there || form.elements.name).focus();
    } catch (error) {
      said.textContent = error.message;
    }
  });
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
    g: () => item && act1(item, "read"), e: () => item && item.state !== "done" && act1(item, "done"),
    o: () => item && item.state === "done" && act1(item, "reopen"),
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
  window.addEventListener("popstate", async () => {
    const wanted = restore();
    state.selected.clear();
    await loadCounts();
    await loadItems(false, wanted);
  });
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
  bindDialogs();
  document.getElementById("open-viewer").addEventListener("click", openViewer);
  document.getElementById("show-help").addEventListener("click", () => document.getElementById("help").showModal());
  bindViews();
  live = await import("/static/live.js");
  // The state about to be loaded is the one the first answer stands for.
  await live.watch("/api/inbox/changes", liveChange, {
    onEnd: (message) => live.notice(document.getElementById("live-notice"), message, "neu anmelden", live.logInAgain),
  }).ready;
  const wanted = restore();
  await loadCounts();
  await loadItems(false, wanted);
  await loadViews();
}

document.addEventListener("DOMContentLoaded", start);
