"use strict";

// One objection or appeal: facts, the deadline computation step by step, status with who and
// when, receipt-date correction with a reason, the case's documents and its history.
const box = document.getElementById("case");
const CASE = { kind: box.dataset.kind, id: box.dataset.id, bg: box.dataset.bg, data: null };
const BASE = CASE.kind === "objection" ? uri`/api/objections/${CASE.id}` : uri`/api/appeals/${CASE.id}`;

const STATES = {
  eingegangen: "eingegangen", in_bearbeitung: "in Bearbeitung", abhilfe: "Abhilfe",
  teilabhilfe: "Teilabhilfe", zurueckgewiesen: "zurückgewiesen", zurueckgenommen: "zurückgenommen",
  anhaengig: "anhängig", erledigt: "erledigt",
};

function what(event) {
  const d = event.details || {};
  switch (event.action) {
    case "objection.registered":
      return `Widerspruch erfasst (Eingang ${germanDate(d.receipt_date)}${d.on_time === true ? ", fristgerecht" : d.on_time === false ? ", verspätet" : ""})`;
    case "objection.receipt_date_corrected":
      return `Eingangsdatum berichtigt: ${germanDate(d.before)} → ${germanDate(d.after)}. Begründung: ${d.reason}`;
    case "objection.decision_set":
      return `Angefochtener Bescheid / Bekanntgabe geändert${d.reason ? `. Begründung: ${d.reason}` : ""}${d.on_time === true ? " (fristgerecht)" : d.on_time === false ? " (verspätet)" : ""}`;
    case "objection.status":
    case "appeal.status":
      return `Status: ${STATES[d.before] || d.before} → ${STATES[d.after] || d.after}`;
    case "appeal.registered":
      return `Klage erfasst: ${d.court || ""}, Az. ${d.file_reference || ""}, zugestellt ${germanDate(d.served_on)}`;
    default:
      return event.action;
  }
}

function steps(list) {
  return html`<table class="steps"><thead><tr><th>Schritt</th><th>Datum</th><th>Erläuterung</th></tr></thead><tbody>
    ${list.map((s) => html`<tr><td>${s.label}</td><td class="value">${germanDate(s.value)}</td><td>${s.note}</td></tr>`)}
  </tbody></table>`;
}

function fact(label, value) {
  return html`<dt>${label}</dt><dd>${value}</dd>`;
}

function documentLink(doc) {
  return doc ? html`<button type="button" class="link" data-doc="${doc.id}">${doc.doc_type_name} (${doc.source_name})</button>` : "–";
}

function render() {
  const c = CASE.data;
  const household = html`<a href="${uri`/akte/${c.bg_number}`}">${c.household_name}</a> · BG ${c.bg_number}`;
  const facts = [fact("Haushalt", household)];
  if (CASE.kind === "objection") {
    document.getElementById("case-title").textContent = `Widerspruch Nr. ${c.id}`;
    facts.push(fact("Schreiben", documentLink(c.document)));
    facts.push(fact("Form", c.form_name));
    facts.push(fact("Eingang", germanDate(c.receipt_date)));
    facts.push(fact("Angefochtener Bescheid", c.decision
      ? html`${documentLink(c.decision)}, versandt am ${germanDate(c.decision.dispatch_date)}` : "keiner verknüpft"));
    facts.push(fact("Rechtsbehelfsbelehrung", c.legal_remedy_notice_ok ? "vorhanden und richtig" : "fehlt oder unrichtig (§ 66 SGG)"));
    if (c.proven_notification) facts.push(fact("Bekanntgabe nachweislich", germanDate(c.proven_notification)));
    if (c.appeals.length) {
      facts.push(fact("Klagen", c.appeals.map((a, index) =>
        html`${index ? ", " : ""}<a href="${uri`/klagen/${a.id}`}">${a.court}, Az. ${a.file_reference}</a>`)));
    }
  } else {
    document.getElementById("case-title").textContent = `Klage ${c.file_reference}`;
    facts.push(fact("Gericht", c.court));
    facts.push(fact("Aktenzeichen", c.file_reference));
    facts.push(fact("Beteiligte", c.parties || "–"));
    facts.push(fact("Schreiben des Gerichts", documentLink(c.document)));
    facts.push(fact("Zugestellt am", germanDate(c.served_on)));
    if (c.objection_id) facts.push(fact("Widerspruch", html`<a href="${uri`/widersprueche/${c.objection_id}`}">Nr. ${c.objection_id}</a>`));
  }
  facts.push(fact("Erfasst", `${c.created_by_name || c.created_by}, ${when(c.created_at)}`));
  setHtml(document.getElementById("facts"), html`${facts}`);

  const deadline = document.getElementById("deadline");
  if (CASE.kind === "objection") {
    const parts = [c.deadline
      ? html`<p class="verdict ${c.deadline.on_time ? "on-time" : "late"}" id="verdict">${c.deadline.summary}</p>
         <p>Frist: ${c.deadline.period}. Bekanntgabe am ${germanDate(c.deadline.notification_date)}, Fristende am ${germanDate(c.deadline.deadline)}.</p>
         ${steps(c.deadline.steps)}`
      : html`<p class="verdict unknown" id="verdict">${c.deadline_missing}</p>`];
    if (c.inaction) {
      const level = { ok: "", bald: " – bald!", überschritten: " – überschritten: eine Untätigkeitsklage ist zulässig" }[c.inaction.level];
      parts.push(html`<p class="${c.inaction.level === "ok" ? "hint" : "verdict late"}">§ 88 Abs. 2 SGG: drei Monate seit Eingang am ${germanDate(c.inaction.three_months_end)}${level}.</p>`);
    }
    setHtml(deadline, html`${parts}`);
  } else {
    // What the court is owed and has not had in time, one line per date.
    const owed = new Map();
    for (const [label, due] of [["Stellungnahme", c.statement_due], ["Verwaltungsakte", c.file_due]]) {
      if (c.open && overdue(due)) owed.set(due, [...(owed.get(due) || []), label]);
    }
    const late = [...owed].map(([due, labels]) => html`<p class="verdict late overdue-note">${labels.join(" und ")} bis ${germanDate(due)}: <strong>überfällig seit ${germanDate(dayAfter(due))}</strong></p>`);
    setHtml(deadline, html`${late}<p class="verdict" id="verdict">${c.deadline_summary}</p>${steps(c.deadline_steps)}`);
  }
  setHtml(document.getElementById("status-now"),
    html`<strong>${c.status_name}</strong> – gesetzt von ${c.status_by_name || c.status_by} am ${when(c.status_at)}`);
  document.querySelector("#status-form select").value = c.status;
  setHtml(document.getElementById("case-documents"), html`${c.documents.map((d) => html`<li class="document">
      <span class="date">${germanDate(d.direction === "out" ? d.dispatch_date : d.receipt_date)}</span>
      <span class="type">${d.doc_type_name}</span>
      <span class="hint">${d.sender || d.source_name} · ${d.pages || "?"} S.</span>
      <span class="actions"><button type="button" class="secondary" data-doc="${d.id}">Anzeigen</button>
      <a href="${uri`/api/documents/${d.id}/pdf`}">Herunterladen</a></span></li>`)}`);
  setHtml(document.getElementById("history"), html`${c.history.map((e) =>
    html`<tr><td>${when(e.at)}</td><td>${e.by_name}</td><td>${what(e)}</td></tr>`)}`);
}

// The decisions in the household's file, for choosing or changing the contested one.
async function fillDecisionForm() {
  const form = document.getElementById("decision-form");
  if (!form || !CASE.data) return;
  const c = CASE.data;
  const select = document.getElementById("decision-select");
  if (!select.dataset.loaded) {
    const facts = await api(uri`/api/documents/${c.document_id}/legal-intake`);
    for (const d of facts.decisions) {
      const option = document.createElement("option");
      option.value = d.id;
      option.textContent = `${d.doc_type_name} – versandt am ${germanDate(d.dispatch_date) || "?"} (${d.source_name})`;
      select.append(option);
    }
    select.dataset.loaded = "1";
  }
  select.value = c.decision_id || "";
  form.elements.proven_notification.value = c.proven_notification || "";
  form.elements.remedy_missing.checked = !c.legal_remedy_notice_ok;
  form.elements.reason.value = "";
}

async function load() {
  try {
    CASE.data = await api(BASE);
    render();
    await fillDecisionForm();
  } catch (error) {
    document.getElementById("case-status").textContent = error.message;
  }
}

async function post(path, payload, done) {
  const status = document.getElementById("case-status");
  try {
    CASE.data = await api(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
    });
    render();
    status.textContent = done;
    return true;
  } catch (error) {
    status.textContent = error.message;
    return false;
  }
}

document.getElementById("status-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const status = new FormData(event.target).get("status");
  post(`${BASE}/status`, { status }, `Status gesetzt: ${STATES[status]}.`);
});

const receiptForm = document.getElementById("receipt-form");
if (receiptForm) {
  receiptForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(receiptForm));
    await post(`${BASE}/receipt-date`, data, "Eingangsdatum berichtigt; die Frist ist neu berechnet.");
    if (CASE.data && CASE.data.receipt_date === data.receipt_date) receiptForm.reset();
  });
}

const decisionForm = document.getElementById("decision-form");
if (decisionForm) {
  decisionForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = decisionForm.elements;
    const saved = await post(`${BASE}/decision`, {
      decision_id: f.decision_id.value || null,
      proven_notification: f.proven_notification.value || null,
      legal_remedy_notice_ok: !f.remedy_missing.checked,
      reason: f.reason.value,
    }, "Gespeichert; die Frist ist neu geprüft.");
    if (saved) await fillDecisionForm();
  });
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-doc]");
  if (button) window.EAkteViewer.show(button.dataset.doc, { page: 1 });
});
document.getElementById("open-viewer").addEventListener("click", () => window.EAkteViewer.open());
document.addEventListener("DOMContentLoaded", load);
