// Keeps an open page current (Postkorb, E-Akte; the scanning desk can use it too). An ES module:
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
export function watch(url, onChange, { seconds = 15, onEnd = null } = {}) {
  let etag = null;
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

  async function check() {
    timer = null;
    if (stopped) return;
    if (busy) { again = true; return; }
    busy = true;
    let wait = every;
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: etag ? { ...BACKGROUND, "If-None-Match": etag } : BACKGROUND,
      });
      if (response.status === 304) {
        pause = every;
      } else if (response.ok) {
        const body = await response.json();
        const known = etag;
        etag = response.headers.get("ETag");
        every = pause = wait = Math.max(1, Number(body.poll_seconds) || every);
        if (known !== null && etag !== known) {
          // A page that could not follow the change asks again (after the pause for errors).
          try { await onChange(body); } catch (error) { etag = known; throw error; }
        }
      } else if (response.status === 429) {
        wait = Math.max(1, Number(response.headers.get("Retry-After")) || every);
      } else if (response.status === 401) {
        stopped = true;
        const body = await response.json().catch(() => ({}));
        if (onEnd) onEnd((body.error && body.error.message) || "Bitte melden Sie sich an.");
      } else {
        pause = wait = Math.min(pause * 2, LONGEST);
      }
    } catch (error) {
      pause = wait = Math.min(pause * 2, LONGEST);
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
  check();
  return {
    ready,
    // Ask now (after the page did something whose effect arrives later, e.g. an upload).
    poke: () => { clearTimeout(timer); check(); },
    stop: () => { stopped = true; clearTimeout(timer); },
  };
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
