"use strict";

// Shared by every page (loaded in <head>, before the page's script), the viewer window too.
//
// The ONE way HTML is built from data:
//
//   setHtml(element, html`<li data-id="${doc.id}">${doc.source_name}</li>`)
//
// `html` escapes every interpolated value for text and for (quoted) attribute context; only
// what another html`` made (or an array of such) passes through as markup. URLs in href/src
// must be http(s) or relative; values inside event handler or style attributes and unquoted
// attribute values are refused, so a template cannot be written that way by mistake.
// `setHtml` is the only place that assigns innerHTML. The page's Content-Security-Policy
// requires Trusted Types and allows only the policy created here, so any other
// `innerHTML = string` in any script throws in the browser instead of running a letter's text.
// Build URL paths with `uri`: uri`/akte/${bg}` percent-encodes every interpolated value.

const { html, setHtml, uri, safeUrl } = (() => {
  const markup = new WeakSet(); // SafeHtml objects made by html`` here, nowhere else
  class SafeHtml {
    constructor(text) {
      this.text = text;
      Object.freeze(this);
      markup.add(this);
    }

    toString() {
      return this.text;
    }
  }

  const policy = window.trustedTypes
    ? window.trustedTypes.createPolicy("eakte", {
      // Only setHtml calls this, and only with the text of a SafeHtml made by html``.
      createHTML: (text) => text,
    })
    : null;

  const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };
  const escapeText = (value) => String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c]);

  // Where in a tag an interpolation lands, judged from the template text before it.
  const URL_ATTRIBUTE = /\s(?:href|src|action|formaction|poster|cite|srcset|xlink:href)\s*=\s*["']$/i;
  const FORBIDDEN_ATTRIBUTE = /\s(?:on[a-z]+|style)\s*=\s*["']?[^"']*$/i;
  const UNQUOTED_ATTRIBUTE = /=\s*$/;

  function safeUrl(value) {
    const text = String(value == null ? "" : value).trim();
    if (text.startsWith("/") && !text.startsWith("//") && !text.startsWith("/\\")) return text;
    try {
      const parsed = new URL(text);
      if (parsed.protocol === "https:" || parsed.protocol === "http:") return parsed.href;
    } catch {
      // not an absolute URL: refused below
    }
    return "#";
  }

  function render(value) {
    if (value == null || value === false) return "";
    if (markup.has(value)) return value.text;
    if (Array.isArray(value)) return value.map(render).join("");
    return escapeText(value);
  }

  function html(strings, ...values) {
    let out = strings[0];
    values.forEach((value, index) => {
      const before = out;
      const inTag = before.lastIndexOf("<") > before.lastIndexOf(">");
      if (inTag && FORBIDDEN_ATTRIBUTE.test(before)) {
        throw new TypeError("html``: keine Werte in Ereignis- oder style-Attributen");
      }
      if (inTag && UNQUOTED_ATTRIBUTE.test(before)) {
        throw new TypeError("html``: Attributwerte brauchen Anführungszeichen");
      }
      if (!inTag) out += render(value);
      else if (URL_ATTRIBUTE.test(before)) out += escapeText(safeUrl(value));
      else out += escapeText(value == null || value === false ? "" : value); // markup is text here
      out += strings[index + 1];
    });
    return new SafeHtml(out);
  }

  function setHtml(element, safe) {
    if (!markup.has(safe)) throw new TypeError("setHtml: nur mit html`` gebautes HTML");
    element.innerHTML = policy ? policy.createHTML(safe.text) : safe.text;
  }

  function uri(strings, ...values) {
    let out = strings[0];
    values.forEach((value, index) => {
      out += encodeURIComponent(value == null ? "" : String(value)) + strings[index + 1];
    });
    return out;
  }

  return { html, setHtml, uri, safeUrl };
})();

// "2026-11-04" or an ISO timestamp → "04.11.2026"; empty for nothing.
function germanDate(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.slice(0, 10).split("-");
  return `${d}.${m}.${y}`;
}

// An ISO timestamp as date and time in German ("25.11.2026, 06:08").
function when(iso) {
  return new Date(iso).toLocaleString("de-DE", { dateStyle: "medium", timeStyle: "short" });
}

// Shortcuts of a single character (j, k, e, w, a, ?, + ...) can be switched off by the user
// (WCAG 2.1.4): the check box "Tastenkürzel aus Einzeltasten verwenden" in the help, kept per
// browser. Arrows, Enter, Escape and the keys of focused controls work either way.
const SINGLE_KEY_SETTING = "eakte.einzeltasten";

function singleKeyShortcuts() {
  try {
    return window.localStorage.getItem(SINGLE_KEY_SETTING) !== "aus";
  } catch {
    return true; // storage blocked: the default
  }
}

function setSingleKeyShortcuts(on) {
  try {
    if (on) window.localStorage.removeItem(SINGLE_KEY_SETTING);
    else window.localStorage.setItem(SINGLE_KEY_SETTING, "aus");
  } catch {
    // storage blocked: the choice holds until the page is left
  }
  for (const box of document.querySelectorAll("input[data-setting='single-key-shortcuts']")) box.checked = on;
}

document.addEventListener("DOMContentLoaded", () => {
  const keyboardHelp = document.getElementById("keyboard-help"); // "Tastaturhilfe" in the header
  if (keyboardHelp) keyboardHelp.addEventListener("click", () => document.getElementById("keyboard-order").showModal());
  for (const box of document.querySelectorAll("input[data-setting='single-key-shortcuts']")) {
    box.checked = singleKeyShortcuts();
    box.addEventListener("change", () => setSingleKeyShortcuts(box.checked));
  }
});

// Page-wide keyboard shortcuts (Postkorb, E-Akte, viewer) take a key only if what has focus
// does not use it itself: fields, selects, text areas, editable text and open dialogs keep every
// key; links, buttons, summaries, check boxes keep Enter and Space (so that they work from the
// keyboard as with a click); tabs keep the arrows, Home and End as well. Single characters only
// while the user has not switched them off.
function shortcutAllowed(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return false;
  if (event.key.length === 1 && !singleKeyShortcuts()) return false;
  const target = event.target;
  if (!(target instanceof Element)) return true;
  if (target.isContentEditable) return false;
  if (target.closest("input, select, textarea, [contenteditable], dialog, [role=dialog], [role=listbox], [role=combobox], [role=textbox]")) return false;
  const activates = event.key === "Enter" || event.key === " ";
  if (activates && target.closest("a[href], button, summary, [role=button], [role=link], [role=tab], [role=checkbox]")) return false;
  if (target.closest("[role=tab]") && /^(Arrow(Left|Right|Up|Down)|Home|End)$/.test(event.key)) return false;
  return true;
}

// Today in the browser's own calendar as an ISO date.
// Today in the office's time zone (the page's data-timezone), not the browser's: the server
// checks dates against the office's day.
function todayIso() {
  const now = new Date();
  const zone = document.documentElement.dataset.timezone;
  if (zone) {
    try {
      return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
    } catch (error) { /* an unknown zone: the browser's day below */ }
  }
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
}

// The one way a script fetches a part of a page the server rendered (a list, a form with its
// errors, a dialog): the browser parses the HTML as a document of its own (no innerHTML, so the
// page's Trusted Types policy stays the only way in). `body` (FormData or URLSearchParams)
// with `method: "POST"` sends a form. Never rejects; resolves with
//   { status, ok, loggedOut, url, headers: { get(name) }, document, body, error }
// where `document`/`body` are the parsed answer (none when the session has ended), `status` is
// 0 when the server could not be reached, and `error` is what to tell the user if the caller
// cannot use the answer: the error page's own German message where there is one.
function fetchPart(url, { method = "GET", body = null, headers = {} } = {}) {
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open(method, url);
    request.responseType = "document";
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.onload = () => {
      const loggedOut = request.status === 401 || request.responseURL.includes("/anmelden");
      const page = loggedOut ? null : request.response;
      const said = page && (page.querySelector("main h1 + p") || page.querySelector("main h1"));
      resolve({
        status: request.status,
        ok: request.status >= 200 && request.status < 300 && !loggedOut,
        loggedOut,
        url: request.responseURL,
        headers: { get: (name) => request.getResponseHeader(name) },
        document: page,
        body: page ? page.body : null,
        error: loggedOut ? "Bitte neu anmelden."
          : (said && said.textContent.trim()) || `Fehler ${request.status}: bitte später erneut versuchen.`,
      });
    };
    request.onerror = () => resolve({
      status: 0, ok: false, loggedOut: false, url, headers: { get: () => null },
      document: null, body: null, error: "Keine Verbindung zum Server.",
    });
    request.send(body);
  });
}

// A part answered to a form or fetched for a page: { status, body } for 200 and 422 (a form
// with its errors at the fields), else { error } in German. Move the part in with
// `target.replaceChildren(...body.childNodes)`.
async function serverPart(url, options = {}) {
  const answer = await fetchPart(url, options);
  if ((answer.status === 200 || answer.status === 422) && answer.body) return { status: answer.status, body: answer.body };
  return { error: answer.error };
}

// Errors shown next to the fields of a form (WCAG 3.3.1): each invalid field gets
// aria-invalid and a message it names in aria-describedby; focus goes to the first of them.
// What the user typed stays. `errors` maps a field's name to its German message.
function clearFieldErrors(form) {
  for (const message of form.querySelectorAll(".field-error")) {
    const field = form.elements[message.dataset.field];
    if (field && field.removeAttribute) {
      field.removeAttribute("aria-invalid");
      const ids = (field.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== message.id);
      if (ids.length) field.setAttribute("aria-describedby", ids.join(" "));
      else field.removeAttribute("aria-describedby");
    }
    message.remove();
  }
}

function showFieldErrors(form, errors) {
  clearFieldErrors(form);
  let first = null;
  for (const [name, text] of Object.entries(errors)) {
    const field = form.elements[name];
    if (!field || !field.setAttribute) continue;
    const message = document.createElement("p");
    message.className = "field-error";
    message.id = `${form.id || "form"}-${name}-error`;
    message.dataset.field = name;
    message.textContent = text;
    (field.closest("label") || field).after(message);
    field.setAttribute("aria-invalid", "true");
    const ids = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    field.setAttribute("aria-describedby", [...ids, message.id].join(" "));
    if (!first) first = field;
  }
  if (first) first.focus();
  return Boolean(first);
}

// A dialog's form is sent only when it is valid; until then the dialog stays open with what
// was typed, and the error stands next to its field. Cancel closes it.
// `check(data)` returns the field errors found before sending; `fields` maps an error code
// from the server to the field it is about (or a function of the data that names it).
function dialogForm(form, check, send, fields = {}) {
  form.noValidate = true;
  form.addEventListener("submit", async (event) => {
    if (event.submitter && event.submitter.value === "cancel") return;
    event.preventDefault();
    form.querySelector(".error").textContent = "";
    const data = Object.fromEntries(new FormData(form));
    if (showFieldErrors(form, check(data))) return;
    try {
      await send(data);
      form.closest("dialog").close();
    } catch (error) {
      const field = typeof fields[error.code] === "function" ? fields[error.code](data) : fields[error.code];
      if (!field || !showFieldErrors(form, { [field]: error.message })) form.querySelector(".error").textContent = error.message;
    }
  });
}

// Focus is not lost when a script redraws what had it (WCAG 2.4.3): when the focused control
// is removed (a list redrawn after "Erledigt", a dialog's content replaced by its result) or a
// dialog closes and the control that opened it is gone, focus goes to the same control of the
// same row if it is drawn again, else to that control of the row now in its place (the next
// entry), else to the first control of the region, else to the page's main content. A control
// disabled while its work runs gets the focus back when it is enabled again.
(() => {
  const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";
  const ROW = "[data-id], [data-batch], [data-document-id], tr, li";
  const ROW_KEYS = ["data-id", "data-batch", "data-document-id"];
  let last = null; // what had focus last, and how to find its like again
  let outside = null; // the same, outside of any dialog (where focus returns after one)

  const shown = (element) => element.isConnected && element.getClientRects().length > 0 && !element.closest("[inert], [hidden]");
  const controls = (root) => [...root.querySelectorAll(FOCUSABLE)].filter(shown);
  const rowOf = (element) => element.closest(ROW);
  const place = (row) => (row && row.parentElement ? [...row.parentElement.children].indexOf(row) : -1);
  // What stays the same when a control is drawn again: its action, else its class and text.
  const signature = (element) => {
    const stable = element.dataset.act || element.dataset.scope || element.getAttribute("name") || element.id;
    return `${element.tagName}|${stable || `${element.className}|${element.textContent.trim()}`}`;
  };

  function describe(element) {
    const row = rowOf(element);
    const key = row && ROW_KEYS.find((name) => row.hasAttribute(name));
    const region = element.parentElement && element.parentElement.closest("[id]");
    return {
      element,
      id: element.id,
      signature: signature(element),
      region: region ? region.id : "main",
      row: key ? `[${key}="${CSS.escape(row.getAttribute(key))}"]` : null,
      place: place(row),
      inRow: row ? controls(row).indexOf(element) : -1,
    };
  }

  function rescue(lost) {
    if (!lost || (document.activeElement && document.activeElement !== document.body)) return;
    const region = document.getElementById(lost.region) || document.querySelector("main") || document.body;
    const alike = controls(region).filter((e) => signature(e) === lost.signature);
    const byId = lost.id && document.getElementById(lost.id);
    const row = lost.row && region.querySelector(lost.row);
    const inRow = row && controls(row);
    const target = (byId && shown(byId) && byId)
      || (row && (inRow.find((e) => signature(e) === lost.signature) || inRow[Math.min(lost.inRow, inRow.length - 1)]))
      || alike.find((e) => place(rowOf(e)) >= lost.place)
      || alike[alike.length - 1]
      || controls(region)[0]
      || document.querySelector("main");
    if (target) target.focus();
  }

  document.addEventListener("focusin", (event) => {
    if (!(event.target instanceof Element) || event.target === document.body) return;
    last = describe(event.target);
    if (!event.target.closest("dialog")) outside = last;
  });
  new MutationObserver((records) => {
    if (!last) return;
    if (!last.element.isConnected) {
      const lost = last;
      last = null; // once: what gets the focus now is remembered by focusin
      rescue(lost);
    }
    // A button disabled while its work runs loses the focus; it gets it back when enabled.
    else if (records.some((r) => r.target === last.element && r.type === "attributes") && !last.element.disabled
      && document.activeElement === document.body) last.element.focus();
  }).observe(document.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ["disabled"] });
  document.addEventListener("close", (event) => {
    if (event.target instanceof HTMLDialogElement) setTimeout(() => rescue(outside), 0);
  }, true);
})();

// A dialog's part (registration of an objection or appeal): { status, body } for every answer
// with a page to show (a refusal with its form again, 4xx, included), else { status, error }.
async function fetchDocument(url, init = {}) {
  const answer = await fetchPart(url, init);
  if (answer.loggedOut || answer.status === 0 || answer.status >= 500 || !answer.body) {
    const reached = answer.status !== 0 && !answer.loggedOut;
    return { status: answer.status, error: reached ? `Fehler ${answer.status}: bitte später erneut versuchen.` : answer.error };
  }
  return { status: answer.status, body: answer.body };
}

// The panel of a page's saved views (#views-toggle, #views-panel with #views-list, #view-form
// and #views-status): opened and closed by its button (Escape closes it), the current address
// saved under a name (the server keeps what belongs to a view, and says what is wrong at the
// name field), a view deleted from the list. `redraw()` draws the list anew after a change;
// after a deletion focus stays in the list (the view that took its place, else the name field).
function savedViews(page, redraw) {
  const button = document.getElementById("views-toggle");
  const panel = document.getElementById("views-panel");
  const form = document.getElementById("view-form");
  const said = document.getElementById("views-status");
  const toggle = (open) => {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    panel.hidden = !open;
  };
  button.addEventListener("click", () => toggle(panel.hidden));
  panel.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    toggle(false);
    button.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const view = await api(uri`/api/views/${page}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: form.elements.name.value, query: window.location.search.replace(/^\?/, "") }),
      });
      clearFieldErrors(form);
      form.reset();
      await redraw();
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
      const view = await api(uri`/api/views/${page}/${remove.dataset.delete}`, { method: "DELETE" });
      await redraw();
      said.textContent = `Ansicht »${view.name}« gelöscht.`;
      const there = next && document.querySelector(`#views-list li[data-id="${CSS.escape(next.dataset.id || "")}"] a`);
      (there || form.elements.name).focus();
    } catch (error) {
      said.textContent = error.message;
    }
  });
}
