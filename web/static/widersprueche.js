"use strict";

// The objections office's dashboard: open objections by age with the § 88 SGG warning, the
// deadline result and the documents of each case; pending appeals with the court's dates.

function documentLinks(documents) {
  return html`<ul class="case-docs">${documents.map((d) => html`<li><button type="button" class="link" data-doc="${d.id}"
    title="Im Anzeigefenster zeigen">${d.doc_type_name}</button> <span class="hint">${germanDate(d.direction === "out" ? d.dispatch_date : d.receipt_date)}</span></li>`)}</ul>`;
}

function inaction(objection) {
  if (!objection.inaction) return html`<span class="hint">–</span>`;
  const end = objection.inaction.three_months_end;
  const level = objection.inaction.level;
  if (level === "überschritten") {
    return html`<span class="badge warn-high">drei Monate am ${germanDate(end)} abgelaufen: Untätigkeitsklage zulässig seit ${germanDate(dayAfter(end))}</span>`;
  }
  if (level === "bald") return html`<span class="badge warn">bald: drei Monate am ${germanDate(end)}</span>`;
  return html`<span class="hint">drei Monate am ${germanDate(end)}</span>`;
}

function deadline(objection) {
  if (!objection.deadline) return html`<span class="badge warn">nicht prüfbar</span>`;
  return objection.deadline.on_time
    ? html`<span class="badge approved">fristgerecht</span><div class="hint">Fristende ${germanDate(objection.deadline.deadline)}</div>`
    : html`<span class="badge rejected">verspätet</span><div class="hint">Fristende ${germanDate(objection.deadline.deadline)}</div>`;
}

function objectionRow(o) {
  const decision = o.decision ? `versandt ${germanDate(o.decision.dispatch_date)}` : html`<span class="hint">keiner verknüpft</span>`;
  return html`<tr class="${o.inaction && o.inaction.level !== "ok" ? "warning" : ""}">
    <td>${o.age_days} Tage</td>
    <td><a href="${uri`/widersprueche/${o.id}`}">${germanDate(o.receipt_date)}</a><div class="hint">Nr. ${o.id} · ${o.form_name}</div></td>
    <td><a href="${uri`/akte/${o.bg_number}`}">${o.household_name}</a><div class="hint">${o.bg_number}</div></td>
    <td>${decision}</td>
    <td>${deadline(o)}</td>
    <td>${inaction(o)}</td>
    <td>${o.status_name}<div class="hint">${o.status_by_name}, ${new Date(o.status_at).toLocaleString("de-DE")}</div></td>
    <td>${documentLinks(o.documents)}<a href="${uri`/widersprueche/${o.id}`}">Öffnen</a></td>
  </tr>`;
}

function appealRow(a) {
  const late = a.open && (overdue(a.statement_due) || overdue(a.file_due));
  return html`<tr class="${late ? "warning" : ""}">
    <td>${germanDate(a.served_on)}</td>
    <td><a href="${uri`/klagen/${a.id}`}">${a.court}</a><div>Az. ${a.file_reference}</div></td>
    <td><a href="${uri`/akte/${a.bg_number}`}">${a.household_name}</a><div class="hint">${a.bg_number}</div></td>
    <td>${deadlineHtml(a.statement_due, a.open)}</td>
    <td>${deadlineHtml(a.file_due, a.open)}</td>
    <td>${a.status_name}<div class="hint">${a.status_by_name}, ${new Date(a.status_at).toLocaleString("de-DE")}</div></td>
    <td>${documentLinks(a.documents)}<a href="${uri`/klagen/${a.id}`}">Öffnen</a></td>
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
    setHtml(document.getElementById("objection-rows"), rows.length ? html`${rows.map(objectionRow)}`
      : html`<tr><td colspan="8" class="hint">Keine offenen Widersprüche.</td></tr>`);
    const late = appeals.appeals.filter((a) => a.open && (overdue(a.statement_due) || overdue(a.file_due))).length;
    if (late) status.textContent += `; ${late} ${late === 1 ? "Klage mit überfälliger Frist" : "Klagen mit überfälligen Fristen"} gegenüber dem Gericht`;
    setHtml(document.getElementById("appeal-rows"), appeals.appeals.length ? html`${appeals.appeals.map(appealRow)}`
      : html`<tr><td colspan="7" class="hint">Keine anhängigen Klagen.</td></tr>`);
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
