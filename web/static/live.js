// Keeps an open page current (Postkorb, E-Akte, the scanning desk). An ES module:
//
//   const { watch, keepFocus } = await import("/static/live.js");
//   const watcher = watch("/api/inbox/changes", onChange);
//   await watcher.ready;        // the state the page is about to load is the known one
//
// The page asks the server every few seconds (as long as the server's answer says) whether
// anything changed for its user: the answer is a change token as ETag, 304 without a body while
// it is the one the page has. No connection is held open between the asks, so an open page
// costs the server one short query now and then, on SQLite and PostgreSQL, with any number of
// web processes. While the browser tab is hidden nothing is asked; when it is shown again the
// page asks at once. A server that says "too often" (429) is waited for as long as it says;
// errors double the pause up to five minutes; a user who is logged out (or whose session ended
// after the idle timeout: these asks do not keep it open) is asked no more.

const LONGEST = 300; // seconds
// Marks a request the page makes by itself (this module's asks, and what the page fetches after a
// change): it is no activity of the user's, so the session's idle timeout still ends a page that
// was left open. Pass as `headers` to fetch.
export const BACKGROUND = Object.freeze({ "X-EAkte-Background": "1" });

// `onEnd(message)`: the session has ended (logged out elsewhere, or idle too long); the page
// says so, as nothing it shows will change any more.
//
// A part of a page that is drawn on the server (the scanning desk's lists) is watched at its
// own address, whose ETag is the change token of what it shows:
//
//   const part = latest(getDocument);     // the part's answers, in the order they were asked
//   const watcher = watch(() => partUrl(), (page) => draw(page), {
//     read: (answer) => answer.document, ask: part, initial: true, seconds: 2 });
//   // the page's own loads (a new filter, after a decision):
//   const answer = await part(url); if (answer) { draw(answer.document); watcher.seen(url, answer); }
//
// `url`: the address, or a function that gives the address now (a filter changes it; an
// answer for an address the page has left is not handed on). `read(answer)`: the body handed
// to onChange (default: the JSON token; its poll_seconds sets the pace). `ask(url, init)`: how
// to fetch (default fetch); a `latest()` shared with the page's own loads, so that a slow poll
// never replaces what the page loaded after it (its null: nothing to do). `initial`: the first
// answer is handed on too (the watcher draws the part; else the page loads its own data and
// the first answer is the state it starts from). `onError(message)`: an ask failed. `since`:
// the change token the page was drawn with (its first paint came from the server): a first
// answer with another token is a change, so nothing that happened between drawing the page and
// the first ask is missed; a hidden page asks only once it is shown.
export function watch(url, onChange, options = {}) {
  const { seconds = 15, onEnd = null, read = (answer) => answer.json(), ask = fetch } = options;
  const { initial = false, onError = null, since = null } = options;
  const address = typeof url === "function" ? url : () => url;
  let known = null; // { url, etag }: the state the page shows
  let drawn = since === null || since === undefined ? null : `"${since}"`;
  let every = seconds;
  let pause = seconds;
  let timer = null;
  let busy = false;
  let again = false;
  let stopped = false;
  let settle;
  // The first answer, or three seconds: a slow answer must not hold up the page's own loading.
  const ready = new Promise((resolve) => {
    settle = resolve;
    setTimeout(resolve, 3000);
  });

  function schedule(wait) {
    clearTimeout(timer);
    timer = null;
    if (stopped || document.visibilityState === "hidden") return;
    timer = setTimeout(check, wait * 1000);
  }

  function end(message) {
    stopped = true;
    if (onEnd) onEnd(message || "Bitte melden Sie sich an.");
  }

  async function check() {
    timer = null;
    if (stopped) return;
    if (busy) { again = true; return; }
    busy = true;
    let wait = every;
    const asked = address();
    const etag = known && known.url === asked ? known.etag : null;
    try {
      const response = await ask(asked, {
        credentials: "same-origin",
        cache: "no-store",
        headers: etag ? { ...BACKGROUND, "If-None-Match": etag } : BACKGROUND,
      });
      if (response === null || response.status === 304) {
        pause = every; // superseded by an answer the page has shown, or nothing changed
      } else if (response.status === 401 || loggedOut(response)) {
        const body = await Promise.resolve(response.status === 401 && response.json())
          .catch(() => ({}));
        end(body.error && body.error.message);
      } else if (response.ok) {
        const body = await read(response);
        const poll = body && typeof body === "object" ? Number(body.poll_seconds) : NaN;
        every = pause = wait = Math.max(1, poll || every);
        const tag = response.headers.get("ETag");
        const before = known !== null || drawn === null ? known : { url: asked, etag: drawn };
        drawn = null;
        if (asked === address()) {
          known = { url: asked, etag: tag };
          const changed = before === null || before.url !== asked || before.etag !== tag;
          if (changed && (initial || before !== null)) {
            // A page that could not follow the change asks again (after the pause for errors).
            try {
              await onChange(body, response);
            } catch (error) {
              known = before;
              pause = wait = Math.min(pause * 2, LONGEST);
            }
          }
        }
      } else if (response.status === 429) {
        wait = Math.max(1, Number(response.headers.get("Retry-After")) || every);
      } else {
        pause = wait = Math.min(pause * 2, LONGEST);
        if (onError) onError("Die Liste konnte nicht geladen werden.");
      }
    } catch (error) {
      pause = wait = Math.min(pause * 2, LONGEST);
      if (onError) onError("Keine Verbindung zum Server.");
    } finally {
      busy = false;
      settle();
    }
    if (again) { again = false; wait = 0; }
    schedule(wait);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") { clearTimeout(timer); timer = null; } else check();
  });
  if (document.visibilityState === "hidden") settle(); else check();
  return {
    ready,
    // Ask now (after the page did something whose effect arrives later, e.g. an upload).
    poke: () => { clearTimeout(timer); check(); },
    stop: () => { stopped = true; clearTimeout(timer); },
    // The page shows the answer it loaded itself from `url`: the next ask compares with it.
    seen: (url, response) => { known = { url, etag: response.headers.get("ETag") }; },
  };
}

// An answer that was led to the login page: the session is over (a page's own address answers
// so; the API says 401).
export function loggedOut(response) {
  return Boolean(response.url) && new URL(response.url, location.href).pathname === "/anmelden";
}

// Answers that can overtake each other (a poll, a reload after a decision, a new filter) for
// one view: `const ask = latest(); const response = await ask(url, init);` fetches (or calls
// `fetcher`) and resolves with null when an answer to a later ask has been handed on already:
// an answer for an older request never replaces the view of a newer one. Every answer that is
// not null is the newest so far, to be shown.
export function latest(fetcher = fetch) {
  let asked = 0;
  let shown = 0;
  return async (...args) => {
    asked += 1;
    const ticket = asked;
    const answer = await fetcher(...args);
    if (ticket < shown) return null;
    shown = ticket;
    return answer;
  };
}

// An HTML answer as format.js's fetchPart gets it (parsed by the browser, no string ever reaches
// innerHTML), shaped like fetch's: status, ok, url (after redirects), headers.get(name), with the
// parsed page as `document` (null unless 200). A failed connection rejects.
export async function getDocument(url, { headers = {} } = {}) {
  const answer = await window.fetchPart(url, { headers });
  if (answer.status === 0) throw new Error(answer.error);
  return { ...answer, document: answer.status === 200 ? answer.document : null };
}

// What identifies a control within its row, to find the same one after the row was drawn anew.
function controlKey(row, element) {
  if (element === row) return null;
  if (element.dataset.act) return `[data-act="${CSS.escape(element.dataset.act)}"]`;
  const same = [...row.querySelectorAll(element.tagName)];
  return `${element.tagName}:${same.indexOf(element)}`;
}

function findControl(row, key) {
  if (!key) return row;
  if (key.startsWith("[")) return row.querySelector(key);
  const [tag, index] = key.split(":");
  return row.querySelectorAll(tag)[Number(index)] || null;
}

// The login page, and back to this page after it.
export function logInAgain() {
  location.assign(`/anmelden?next=${encodeURIComponent(location.pathname + location.search)}`);
}

// Draws a list anew (`draw()`) without taking the user's place: the control that had focus in
// a row (rows are `rowSelector` elements with data-id) has it again afterwards, and the row
// stays where it was on the screen.
export function keepFocus(container, rowSelector, draw) {
  const active = document.activeElement;
  const row = active && container.contains(active) ? active.closest(rowSelector) : null;
  const id = row ? row.dataset.id : null;
  const key = row ? controlKey(row, active) : null;
  const top = row ? row.getBoundingClientRect().top : 0;
  draw();
  if (id === null) return;
  const found = [...container.querySelectorAll(rowSelector)].find((r) => r.dataset.id === id);
  if (!found) return;
  (findControl(found, key) || found).focus({ preventScroll: true });
  const shift = found.getBoundingClientRect().top - top;
  if (shift) window.scrollBy(0, shift);
}

// A quiet notice in an aria-live region: a sentence and, if given, a button that acts on it
// ("2 neue Einträge – anzeigen"). Empty text clears it.
export function notice(region, text, action = null, onAction = null) {
  region.replaceChildren();
  if (!text) return;
  const words = document.createElement("span");
  words.textContent = action ? `${text} – ` : text;
  region.append(words);
  if (action) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link-button";
    button.textContent = action;
    button.addEventListener("click", onAction);
    region.append(button);
  }
}
