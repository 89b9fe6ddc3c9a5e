"use strict";

// The objections office's dashboard. Its lists are rendered on the server (web/legal_pages.py,
// _widersprueche_lists.html, labels included); this script only sends the filter without
// leaving the page, keeps it in the page's address (reload and Back show the same lists) and
// shows a case's documents in the viewer window.

const filter = document.getElementById("board-filter");
const lists = document.getElementById("board-lists");
const boardStatus = document.getElementById("board-status");
let asked = 0; // answers can overtake each other: only the last one asked for is shown

function filterQuery() {
  const query = new URLSearchParams();
  for (const [key, value] of new FormData(filter)) if (value) query.set(key, value);
  return query.toString();
}

async function reload() {
  const query = filterQuery();
  window.history.replaceState(null, "", query ? `/widersprueche?${query}` : "/widersprueche");
  const ticket = ++asked;
  const answer = await serverPart(query ? `${lists.dataset.src}?${query}` : lists.dataset.src);
  if (ticket !== asked) return;
  if (answer.error) {
    boardStatus.textContent = answer.error;
    return;
  }
  lists.replaceChildren(...answer.body.childNodes);
  const said = lists.querySelector("#board-said");
  if (said) boardStatus.textContent = said.dataset.status;
}

filter.addEventListener("submit", (event) => {
  event.preventDefault();
  reload();
});
for (const id of ["show-closed", "board-sort"]) document.getElementById(id).addEventListener("change", reload);
lists.addEventListener("click", (event) => {
  const button = event.target.closest("[data-doc]");
  if (button) window.EAkteViewer.show(button.dataset.doc, { page: 1 });
});
document.getElementById("open-viewer").addEventListener("click", () => window.EAkteViewer.open());
