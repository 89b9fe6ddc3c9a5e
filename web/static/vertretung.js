"use strict";

async function load() {
  const body = await api("/api/deputies");
  const mine = document.getElementById("my-deputies");
  setHtml(mine, body.my_deputies.length ? html`${body.my_deputies.map((d) => html`<li data-id="${d.id}">${d.deputy.name}: ${germanDate(d.starts_on)} bis ${germanDate(d.ends_on)}
    ${d.active ? html`<span class="badge approved">aktiv</span>` : html`<span class="badge">geplant</span>`}
    <button type="button" class="secondary end">Beenden</button></li>`)}` : html`<li class="hint">Keine.</li>`);
  mine.querySelectorAll("button.end").forEach((button) => button.addEventListener("click", async () => {
    await api(uri`/api/deputies/${button.closest("li").dataset.id}`, { method: "DELETE" });
    document.getElementById("deputy-status").textContent = "Vertretung beendet.";
    load();
  }));
  setHtml(document.getElementById("i-stand-in"), body.i_stand_in_for.length ? html`${body.i_stand_in_for.map((d) =>
    html`<li>${d.absent.name}: ${germanDate(d.starts_on)} bis ${germanDate(d.ends_on)} ${d.active ? html`<a href="/postkorb">zum Postkorb</a>` : html`<span class="badge">geplant</span>`}</li>`)}` : html`<li class="hint">Niemanden.</li>`);
}

document.addEventListener("DOMContentLoaded", async () => {
  const form = document.getElementById("deputy-form");
  const staff = await api("/api/staff");
  for (const person of staff.users) form.elements.deputy.append(new Option(`${person.name} (${person.team || "–"})`, person.login));
  const today = form.dataset.today;
  form.elements.starts_on.value = today;
  form.elements.ends_on.value = today;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/api/deputies", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(Object.fromEntries(new FormData(form))) });
      document.getElementById("deputy-status").textContent = "Vertretung eingetragen.";
      load();
    } catch (error) {
      document.getElementById("deputy-status").textContent = error.message;
    }
  });
  load();
});
