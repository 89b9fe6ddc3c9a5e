"use strict";

// The objections office's dashboard: open objections by age with the § 88 SGG warning, the
// deadline result and the documents of each case; pending appeals with the court's dates.

function dayAfter(iso) {
  const day = new Date(`${iso}T12:00:00Z`);
  day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

function documentLinks(documents) {
  return `<ul class="case-docs">${documents.map((d) => `<li><button type="button" class="link" data-doc="${esc(d.id)}"
    title="Im Anzeigefenster zeigen">${esc(d.doc_type_name)}</button> <span class="hint">${germanDate(d.direction === "out" ? d.dispatch_date : d.receipt_date)}</span></li>`).join("")}</ul>`;
}

function inaction(objection) {
  if (!objection.inaction) return '<span class="hint">–</span>';
  const end = objection.inaction.three_months_end;
  const level = objection.inaction.level;
  if (level === "überschritten") {
    return `<span class="badge warn-high">drei Monate am ${germanDate(end)} abgelaufen: Untätigkeitsklage zulässig seit ${germanDate(dayAfter(end))}</span>`;
  }
  if (level === "bald") return `<span class="badge warn">bald: drei Monate am ${germanDate(end)}</span>`;
  return `<span class="hint">drei Monate am ${germanDate(end)}</span>`;
}

function deadline(objection) {
  if (!objection.deadline) return '<span class="badge warn">nicht prüfbar</span>';
  return objection.deadline.on_time
    ? `<span class="badge approved">fristgerecht</span><div class="hint">Fristende ${germanDate(objection.deadline.deadline)}</div>`
    : `<span class="badge rejected">verspätet</span><div class="hint">Fristende ${germanDate(objection.deadline.deadline)}</div>`;
}

function objectionRow(o) {
  const decision = o.decision ? `versandt ${germanDate(o.decision.dispatch_date)}` : '<span class="hint">keiner verknüpft</span>';
  return `<tr class="${o.inaction && o.inaction.level !== "ok" ? "warning" : ""}">
    <td>${o.age_days} Tage</td>
    <td><a href="/widersprueche/${o.id}">${germanDate(o.receipt_date)}</a><div class="hint">Nr. ${o.id} · ${esc(o.form_name)}</div></td>
    <td><a href="/akte/${esc(o.bg_number)}">${esc(o.household_name)}</a><div class="hint">${esc(o.bg_number)}</div></td>
    <td>${decision}</td>
    <td>${deadline(o)}</td>
    <td>${inaction(o)}</td>
    <td>${esc(o.status_name)}<div class="hint">${esc(o.status_by_name)}, ${new Date(o.status_at).toLocaleString("de-DE")}</div></td>
    <td>${documentLinks(o.documents)}<a href="/widersprueche/${o.id}">Öffnen</a></td>
  </tr>`;
}

function appealRow(a) {
  return `<tr>
    <td>${germanDate(a.served_on)}</td>
    <td><a href="/klagen/${a.id}">${esc(a.court)}</a><div>Az. ${esc(a.file_reference)}</div></td>
    <td><a href="/akte/${esc(a.bg_number)}">${esc(a.household_name)}</a><div class="hint">${esc(a.bg_number)}</div></td>
    <td>${germanDate(a.statement_due)}</td>
    <td>${germanDate(a.file_due)}</td>
    <td>${esc(a.status_name)}<div class="hint">${esc(a.status_by_name)}, ${new Date(a.status_at).toLocaleString("de-DE")}</div></td>
    <td>${documentLinks(a.documents)}<a href="/klagen/${a.id}">Öffnen</a></td>
  </tr>`;
}

async function load() {
  const all = document.getElementById("show-closed").checked ? "?all=true" : "";
  const status = document.getElementById("board-status");
  try {
    const [objections, appeals] = await Promise.all([api(`/api/objections${all}`), api(`/api/appeals${all}`)]);
    const rows = objections.objections;
    const warned = rows.filter((o) => o.inaction && o.inaction.level !== "ok").length;
    status.textContent = `${rows.length} ${rows.length === 1 ? "Widerspruch" : "Widersprüche"}` +
      (warned ? `, davon ${warned} mit Warnung nach § 88 SGG` : "");
    document.getElementById("objection-rows").innerHTML = rows.map(objectionRow).join("") ||
      '<tr><td colspan="8" class="hint">Keine offenen Widersprüche.</td></tr>';
    document.getElementById("appeal-rows").innerHTML = appeals.appeals.map(appealRow).join("") ||
      '<tr><td colspan="7" class="hint">Keine anhängigen Klagen.</td></tr>';
  } catch (error) {
    status.textContent = error.message;
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-doc]");
  if (button) window.EAkteViewer.show(button.dataset.doc, { page: 1 });
});
document.getElementById("show-closed").addEventListener("change", load);
document.getElementById("open-viewer").addEventListener("click", () => window.EAkteViewer.open());
document.addEventListener("DOMContentLoaded", load);
