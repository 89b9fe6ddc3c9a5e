/*
 * The main window's side of the viewer protocol (see web/static/viewer.js for the messages).
 *
 *   <script src="/static/viewer-link.js"></script>
 *   EAkteViewer.show(documentId, { page: 2, terms: ["Widerspruch"] })
 *       -> Promise of "posted" (an open viewer shows it), "opened" (a new viewer window was
 *          opened at /viewer?doc=...&page=...&q=...) or "blocked" (the browser refused the
 *          window; call show() from a click or key handler).
 *   EAkteViewer.open()           -> opens the viewer window (empty) or brings the open one to
 *                                   the front without changing what it shows; call it from a
 *                                   click or key handler
 *   EAkteViewer.isOpen()         -> Promise of true when a viewer answers a ping in time
 *   EAkteViewer.onChange(fn)     -> fn(true) on "viewer-ready"/"pong", fn(false) on
 *                                   "viewer-closed"; returns a function that unsubscribes
 *   EAkteViewer.url(documentId, { page, terms })  -> the stand-alone viewer address
 */
"use strict";

window.EAkteViewer = (() => {
  const NAME = "eakte-viewer";
  const ANSWER_MS = 150;
  const WINDOW_FEATURES = "popup=yes,width=1000,height=1200";
  const channel = "BroadcastChannel" in window ? new BroadcastChannel(NAME) : null;
  const waiting = new Set();
  const listeners = new Set();

  if (channel) {
    channel.addEventListener("message", (event) => {
      const data = event.data || {};
      if (data.type === "pong" || data.type === "viewer-ready") {
        for (const resolve of [...waiting]) resolve(true);
        for (const listener of listeners) listener(true, data);
      } else if (data.type === "viewer-closed") {
        for (const listener of listeners) listener(false, data);
      }
    });
  }

  function ping(timeout = ANSWER_MS) {
    if (!channel) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (answered) => {
        clearTimeout(timer);
        waiting.delete(done);
        resolve(answered);
      };
      const timer = setTimeout(() => done(false), timeout);
      waiting.add(done);
      channel.postMessage({ type: "ping" });
    });
  }

  function cleanTerms(terms) {
    return (terms || []).map((t) => String(t).trim()).filter(Boolean);
  }

  function url(documentId, { page, terms } = {}) {
    const params = new URLSearchParams({ doc: String(documentId) });
    if (page) params.set("page", String(page));
    const words = cleanTerms(terms);
    if (words.length) params.set("q", words.join(" "));
    return `/viewer?${params}`;
  }

  async function show(documentId, { page, terms } = {}) {
    const message = { type: "show", documentId: String(documentId) };
    if (page) message.page = Number(page);
    const words = cleanTerms(terms);
    if (words.length) message.terms = words;
    if (await ping()) {
      channel.postMessage(message);
      return "posted";
    }
    const opened = window.open(url(documentId, { page, terms: words }), NAME, WINDOW_FEATURES);
    return opened ? "opened" : "blocked";
  }

  function open() {
    // An empty address finds the window of that name without loading it again.
    const found = window.open("", NAME, WINDOW_FEATURES);
    if (!found) return null;
    try {
      if (found.location.href === "about:blank") found.location.href = "/viewer";
    } catch {
      found.location.href = "/viewer"; // not ours to read: load the viewer into it
    }
    found.focus();
    return found;
  }

  function onChange(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  return { show, open, isOpen: () => ping(), onChange, url };
})();
