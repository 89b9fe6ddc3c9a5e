/*
 * Registering an incoming letter as an objection (Widerspruch) or an appeal (Klage) in one
 * step, from the Postkorb or from the viewer window. Needs only format.js (html``, setHtml),
 * which the viewer window loads as well; the viewer window loads neither eakte.js nor its styles.
 *
 *   EAkteLegal.register(documentId, { onDone(result) })
 *     opens the dialog: the contested decision from the household's file (the one the letter
 *     names is suggested), the form, and for a court letter the court, file reference,
 *     parties and dates read from the letter. After saving, the dialog shows the result (on
 *     time or late, the dates for the court) with a link to the case's page.
 */
"use strict";

window.EAkteLegal = (() => {
  async function call(path, options = {}) {
    const response = await fetch(path, { credentials: "same-origin", ...options });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = (body.error && body.error.message) || `Fehler ${response.status}`;
      const problems = body.error && body.error.details && body.error.details.problems;
      const error = new Error(problems ? `${message} (${problems.join("; ")})` : message);
      error.code = body.error && body.error.code;
      throw error;
    }
    return body;
  }

  function dialog() {
    let element = document.getElementById("legal-dialog");
    if (element) return element;
    element = document.createElement("dialog");
    element.id = "legal-dialog";
    element.className = "legal-dialog";
    element.setAttribute("aria-labelledby", "legal-title");
    document.body.append(element);
    return element;
  }

  function decisionLabel(decision) {
    const sent = decision.dispatch_date ? `versandt am ${germanDate(decision.dispatch_date)}` : "ohne Versanddatum";
    return `${decision.doc_type_name || "Bescheid"} – ${sent} (${decision.source_name})`;
  }

  function formHtml(data) {
    const doc = data.document;
    const decisions = data.decisions.map((d) =>
      html`<option value="${d.id}"${d.suggested ? html` selected` : ""}>${decisionLabel(d)}</option>`);
    const forms = data.forms.map((f) => html`<option value="${f.code}">${f.name}</option>`);
    const objections = data.objections.map((o) =>
      html`<option value="${o.id}">Widerspruch Nr. ${o.id}, Eingang ${germanDate(o.receipt_date)} (${o.status_name})</option>`);
    const facts = data.appeal;
    const appealKind = data.kind === "appeal";
    const noDecision = data.decisions.length ? "" : "In der Akte liegt kein Bescheid. Bescheide werden in der E-Akte unter »Hinzufügen« mit Versanddatum abgelegt.";
    return html`
      <h2 id="legal-title">Erfassen: ${doc.doc_type_name} · ${doc.source_name}</h2>
      <p class="hint">BG ${data.bg_number} · ${data.household_name} · Eingang ${germanDate(data.receipt_date)} (${data.receipt_source})</p>
      <fieldset class="legal-kind"><legend>Art</legend>
        <label><input type="radio" name="kind" value="objection"${appealKind ? "" : html` checked`}> Widerspruch</label>
        <label><input type="radio" name="kind" value="appeal"${appealKind ? html` checked` : ""}> Klage (Schreiben des Sozialgerichts)</label>
      </fieldset>
      <div data-for="objection">
        <label>Angefochtener Bescheid
          <select name="decision_id">${decisions}<option value=""${data.decisions.some((d) => d.suggested) ? "" : html` selected`}>– ohne Bescheid (Frist dann nicht prüfbar) –</option></select></label>
        <p class="hint" id="legal-suggestion">${data.decision_suggestion ? `Vorschlag: ${data.decision_suggestion}` : noDecision}</p>
        <label>Form des Widerspruchs <select name="form">${forms}</select></label>
        <label class="check"><input type="checkbox" name="notice_missing"> Rechtsbehelfsbelehrung fehlt oder ist unrichtig (Frist ein Jahr, § 66 Abs. 2 SGG)</label>
        <label>Bekanntgabe nachweislich später am (optional, § 37 Abs. 2 Satz 3 SGB X) <input type="date" name="proven_notification"></label>
      </div>
      <div data-for="appeal">
        <label>Gericht <input name="court" maxlength="200" value="${facts.court}"></label>
        <label>Aktenzeichen des Gerichts <input name="file_reference" maxlength="60" value="${facts.file_reference}"></label>
        <p class="hint" id="legal-reference-hint">${facts.file_reference_source || `Nicht aus dem Schreiben erkannt: bitte aus dem Schreiben des Gerichts übernehmen (oben, bei »Aktenzeichen« oder »Az.«, z. B. ${EXAMPLE_REFERENCE}).`}</p>
        <label>Beteiligte <input name="parties" maxlength="2000" value="${facts.parties}"></label>
        <label>Zugestellt am (${facts.served_on_source}) <input type="date" name="served_on" value="${facts.served_on}"></label>
        <label>Frist des Gerichts zur Stellungnahme <input type="date" name="court_deadline" value="${facts.court_deadline || ""}"></label>
        ${facts.court_deadline_source ? html`<p class="hint">berechnet aus ${facts.court_deadline_source}</p>` : html`<p class="hint">Ohne Datum gilt intern Zustellung + 4 Wochen.</p>`}
        <label>Zum Widerspruch <select name="objection_id"><option value="">– keiner –</option>${objections}</select></label>
      </div>
      <label class="check"><input type="checkbox" name="close_inbox_items" checked> Postkorb-Eintrag zum Schreiben als erledigt kennzeichnen</label>
      <p class="error" role="alert"></p>
      <div class="row"><button type="submit" value="ok">Erfassen</button><button type="button" class="secondary" data-close>Abbrechen</button></div>`;
  }

  // What an appeal cannot be registered without, and where the caseworker finds it.
  const EXAMPLE_REFERENCE = "S 12 AS 345/26";
  const APPEAL_NEEDS = {
    court: "Bitte das Gericht angeben: es steht im Briefkopf des Schreibens (z. B. Sozialgericht Schleswig).",
    file_reference: `Bitte das Aktenzeichen des Gerichts eintragen: es steht im Schreiben des Gerichts oben, bei »Aktenzeichen« oder »Az.« (z. B. ${EXAMPLE_REFERENCE}).`,
    served_on: "Bitte das Zustelldatum angeben: Eingangsstempel oder Zustellungsurkunde des Schreibens.",
  };

  function missing(form) {
    if (form.elements.kind.value !== "appeal") return {};
    return Object.fromEntries(Object.entries(APPEAL_NEEDS).filter(([name]) => !form.elements[name].value.trim()));
  }

  function showKind(form) {
    const kind = form.elements.kind.value;
    for (const block of form.querySelectorAll("[data-for]")) block.hidden = block.dataset.for !== kind;
    form.elements.court.required = kind === "appeal";
    form.elements.file_reference.required = kind === "appeal";
    form.elements.served_on.required = kind === "appeal";
  }

  function resultHtml(kind, body) {
    if (kind === "objection") {
      const check = body.deadline;
      const verdict = check
        ? html`<p class="verdict ${check.on_time ? "on-time" : "late"}">${check.summary}</p>`
        : html`<p class="verdict unknown">${body.deadline_missing}</p>`;
      return html`<h2 id="legal-title">Widerspruch Nr. ${body.id} erfasst</h2>${verdict}
        <p><a href="${uri`/widersprueche/${body.id}`}" data-open-case>Zum Widerspruch (Fristberechnung Schritt für Schritt)</a></p>`;
    }
    return html`<h2 id="legal-title">Klage ${body.file_reference} erfasst</h2>
      <p class="verdict">${body.deadline_summary}</p>
      <p><a href="${uri`/klagen/${body.id}`}" data-open-case>Zur Klage</a></p>`;
  }

  function bindClose(element) {
    for (const button of element.querySelectorAll("[data-close]")) {
      button.addEventListener("click", () => element.close());
    }
    // In the viewer window the case opens in a window of its own; the viewer stays.
    if (document.body.classList.contains("viewer")) {
      for (const link of element.querySelectorAll("[data-open-case]")) {
        link.target = "_blank";
        link.rel = "noopener";
      }
    }
  }

  async function register(documentId, { onDone } = {}) {
    const element = dialog();
    let data;
    try {
      data = await call(`/api/documents/${encodeURIComponent(documentId)}/legal-intake`);
    } catch (error) {
      setHtml(element, html`<h2 id="legal-title">Erfassen nicht möglich</h2><p class="error" role="alert">${error.message}</p>
        <div class="row"><button type="button" data-close>Schließen</button></div>`);
      bindClose(element);
      element.showModal();
      return;
    }
    if (data.objection_id || data.appeal_id) {
      const link = data.objection_id
        ? html`<a href="${uri`/widersprueche/${data.objection_id}`}" data-open-case>Widerspruch Nr. ${data.objection_id} öffnen</a>`
        : html`<a href="${uri`/klagen/${data.appeal_id}`}" data-open-case>Klage öffnen</a>`;
      setHtml(element, html`<h2 id="legal-title">Bereits erfasst</h2><p>Dieses Schreiben ist schon im Register: ${link}</p>
        <div class="row"><button type="button" data-close>Schließen</button></div>`);
      bindClose(element);
      element.showModal();
      return;
    }
    setHtml(element, html`<form class="legal-form">${formHtml(data)}</form>`);
    const form = element.querySelector("form");
    bindClose(element);
    showKind(form);
    for (const radio of form.querySelectorAll("input[name=kind]")) radio.addEventListener("change", () => showKind(form));
    form.noValidate = true; // the messages below say where to look, the browser's do not
    form.elements.file_reference.setAttribute("aria-describedby", "legal-reference-hint");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      form.querySelector(".error").textContent = "";
      if (showFieldErrors(form, missing(form))) return;
      clearFieldErrors(form);
      const kind = form.elements.kind.value;
      const values = Object.fromEntries(new FormData(form));
      const close = form.elements.close_inbox_items.checked;
      const payload = kind === "objection"
        ? {
          document_id: documentId,
          decision_id: values.decision_id || null,
          form: values.form,
          legal_remedy_notice_ok: !form.elements.notice_missing.checked,
          proven_notification: values.proven_notification || null,
          close_inbox_items: close,
        }
        : {
          document_id: documentId,
          court: values.court,
          file_reference: values.file_reference,
          parties: values.parties,
          served_on: values.served_on,
          court_deadline: values.court_deadline || null,
          objection_id: values.objection_id ? Number(values.objection_id) : null,
          close_inbox_items: close,
        };
      const submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        const send = () => call(kind === "objection" ? "/api/objections" : "/api/appeals", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(payload),
        });
        // The same letter read twice or the same decision contested already: warned, and
        // registered only when the user confirms (issue 15).
        const body = await send().catch((error) => {
          if (error.code !== "objection_duplicate" || !window.confirm(error.message)) throw error;
          payload.confirm_duplicate = true;
          return send();
        });
        setHtml(element, html`${resultHtml(kind, body)}<div class="row"><button type="button" data-close>Schließen</button></div>`);
        bindClose(element);
        if (onDone) onDone({ kind, body });
      } catch (error) {
        if (!(error.code === "appeal_fields" && showFieldErrors(form, missing(form)))) form.querySelector(".error").textContent = error.message;
        submit.disabled = false;
      }
    });
    element.showModal();
    form.elements.kind[0].focus();
  }

  return { register };
})();
