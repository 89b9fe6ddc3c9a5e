// The administration's users list (web/admin_pages.py, _verwaltung_benutzer.html) is drawn on
// the server; changing a filter fetches the list for the new filter and swaps it in. The
// page's address carries the filter, so reload and Back show the same list. Without this
// script the filter form still works as an ordinary GET form.

const part = document.getElementById("users-part");
const status = document.getElementById("admin-status");

function filterQuery(form) {
  return new URLSearchParams(new FormData(form)).toString();
}

async function show(query, push) {
  const answer = await serverPart(`/verwaltung/benutzer/liste?${query}`);
  if (answer.error) {
    status.textContent = answer.error;
    return;
  }
  // The filter is drawn anew: the control the user was on keeps the focus.
  const focused = part.contains(document.activeElement) ? document.activeElement.name : "";
  part.replaceChildren(...answer.body.childNodes);
  if (focused) {
    const again = part.querySelector(`#users-filter [name="${focused}"]`);
    if (again) again.focus();
  }
  status.textContent = document.getElementById("users-count").textContent;
  if (push) history.pushState({ query }, "", `/verwaltung/benutzer?${query}`);
}

if (part) {
  part.addEventListener("change", (event) => {
    const form = event.target.closest("#users-filter");
    if (form) show(filterQuery(form), true);
  });
  part.addEventListener("submit", (event) => {
    if (event.target.id !== "users-filter") return;
    event.preventDefault();
    show(filterQuery(event.target), true);
  });
  window.addEventListener("popstate", () => show(location.search.slice(1), false));
}
