"use strict";

// One objection or appeal: facts, the deadline computation step by step, status with who and
// when, receipt-date correction with a reason, the case's documents and its history.
const box = document.getElementById("case");
const CASE = { kind: box.dataset.kind, id: box.dataset.id, bg: box.dataset.bg, data: null };
const BASE = CASE.kind === "objection" ? `/api/objections/${CASE.id}` : `/api/appeals/${CASE.id}`;

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
  return `<table class="steps"><thead><tr><th>Schritt</th><th>Datum</th><th>Erläuterung</th></tr></thead><tbody>
    ${list.map((s) => `<tr><td>${esc(s.label)}</td><td class="value">${germanDate(s.value)}</td><td>${esc(s.note)}</td></tr>`).join("")}
  </tbody></table>`;
}

function fact(label, value) {
  return `<dt>${esc(label)}</dt><dd>${value}</dd>`;
}

function documentLink(doc) {
  return doc ? `<button type="button" class="link" data-doc="${esc(doc.id)}">${esc(doc.doc_type_name)} (${esc(doc.source_name)})</button>` : "–";
}

function render() {
  const c = CASE.data;
  const household = `<a href="/akte/${esc(c.bg_number)}">${esc(c.household_name)}</a> · BG ${esc(c.bg_number)}`;
  let facts = fact("Haushalt", household);
  if (CASE.kind === "objection") {
    document.getElementById("case-title").textContent = `Widerspruch Nr. ${c.id}`;
    facts += fact("Schreiben", documentLink(c.document));
    facts += fact("Form", esc(c.form_name));
    facts += fact("Eingang", germanDate(c.receipt_date));
    facts += fact("Angefochtener Bescheid", c.decision
      ? `${documentLink(c.decision)}, versandt am ${germanDate(c.decision.dispatch_date)}` : "keiner verknüpft");
    facts += fact("Rechtsbehelfsbelehrung", c.legal_remedy_notice_ok ? "vorhanden und richtig" : "fehlt oder unrichtig (§ 66 SGG)");
    if (c.proven_notification) facts += fact("Bekanntgabe nachweislich", germanDate(c.proven_notification));
    if (c.appeals.length) facts += fact("Klagen", c.appeals.map((a) => `<a href="/klagen/${a.id}">${esc(a.court)}, Az. ${esc(a.file_reference)}</a>`).join(", "));
  } else {
    document.getElementById("case-title").textContent = `Klage ${c.file_reference}`;
    facts += fact("Gericht", esc(c.court));
    facts += fact("Aktenzeichen", esc(c.file_reference));
    facts += fact("Beteiligte", esc(c.parties || "–"));
    facts += fact("Schreiben des Gerichts", documentLink(c.document));
    facts += fact("Zugestellt am", germanDate(c.served_on));
    if (c.objection_id) facts += fact("Widerspruch", `<a href="/widersprueche/${c.objection_id}">Nr. ${c.objection_id}</a>`);
  }
  facts += fact("Erfasst", `${esc(c.created_by_name || c.created_by)}, ${when(c.created_at)}`);
  document.getElementById("facts").innerHTML = facts;

  const deadline = document.getElementById("deadline");
  if (CASE.kind === "objection") {
    let html = c.deadline
      ? `<p class="verdict ${c.deadline.on_time ? "on-time" : "late"}" id="verdict">${esc(c.deadline.summary)}</p>
         <p>Frist: ${esc(c.deadline.period)}. Bekanntgabe am ${germanDate(c.deadline.notification_date)}, Fristende am ${germanDate(c.deadline.deadline)}.</p>
         ${steps(c.deadline.steps)}`
      : `<p class="verdict unknown" id="verdict">${esc(c.deadline_missing)}</p>`;
    if (c.inaction) {
      const level = { ok: "", bald: " – bald!", überschritten: " – überschritten: eine Untätigkeitsklage ist zulässig" }[c.inaction.level];
      html += `<p class="${c.inaction.level === "ok" ? "hint" : "verdict late"}">§ 88 Abs. 2 SGG: drei Monate seit Eingang am ${germanDate(c.inaction.three_months_end)}${esc(level)}.</p>`;
    }
    deadline.innerHTML = html;
  } else {
    deadline.innerHTML = `<p class="verdict" id="verdict">${esc(c.deadline_summary)}</p>${steps(c.deadline_steps)}`;
  }
  document.getElementById("status-now").innerHTML =
    `<strong>${esc(c.status_name)}</strong> – gesetzt von ${esc(c.status_by_name || c.status_by)} am ${when(c.status_at)}`;
  document.querySelector("#status-form select").value = c.status;
  document.getElementById("case-documents").innerHTML = c.documents.map((d) => `<li class="document">
      <span class="date">${germanDate(d.direction === "out" ? d.dispatch_date : d.receipt_date)}</span>
      <span class="type">${esc(d.doc_type_name)}</span>
      <span class="hint">${esc(d.sender || d.source_name)} · ${d.pages || "?"} S.</span>
      <span class="actions"><button type="button" class="secondary" data-doc="${esc(d.id)}">Anzeigen</button>
      <a href="/api/documents/${esc(d.id)}/pdf">Herunterladen</a></span></li>`).join("");
  document.getElementById("history").innerHTML = c.history.map((e) =>
    `<tr><td>${when(e.at)}</td><td>${esc(e.by_name)}</td><td>${esc(what(e))}</td></tr>`).join("");
}

// The decisions in the household's file, for choosing or changing the contested one.
async function fillDecisionForm() {
  const form = document.getElementById("decision-form");
  if (!form || !CASE.data) return;
  const c = CASE.data;
  const select = document.getElementById("decision-select");
  if (!select.dataset.loaded) {
    const facts = await api(`/api/documents/${c.document_id}/legal-intake`);
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
