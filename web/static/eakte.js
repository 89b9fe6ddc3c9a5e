"use strict";

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error((body.error && body.error.message) || `Fehler ${response.status}`);
    error.code = body.error && body.error.code; // e.g. "forward_reason": which field it is about
    throw error;
  }
  return body;
}

const loginForm = document.getElementById("login-form");
if (loginForm) {
  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(loginForm));
    try {
      await api("/api/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(data),
      });
      const next = new URL(new URLSearchParams(location.search).get("next") || "/", location.origin);
      window.location.assign(next.origin === location.origin ? next.pathname + next.search + next.hash : "/");
    } catch (error) {
      document.getElementById("login-error").textContent = error.message;
    }
  });
}

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    const result = await api("/api/auth/logout", { method: "POST" });
    // After single sign-on: on to sign out at the provider too, which sends back to /anmelden.
    window.location.assign(result.redirect || "/anmelden");
  });
}

// `known`: counts the page has just fetched itself (the Postkorb), else they are asked for.
async function refreshNavCount(known = null) {
  const badge = document.getElementById("nav-count");
  if (!badge) return;
  try {
    const counts = known || await api("/api/inbox/counts");
    const fresh = counts.mine.new + counts.team.new;
    const deputy = counts.deputy.reduce((sum, entry) => sum + entry.open, 0);
    badge.textContent = fresh || deputy ? `${fresh}${deputy ? ` + ${deputy} V` : ""}` : "";
    badge.title = `${counts.mine.new} neu in meinem Postkorb, ${counts.team.new} neu im Team` +
      (deputy ? `, ${deputy} offen in Vertretung` : "");
  } catch (error) {
    badge.textContent = "";
  }
}
refreshNavCount();
