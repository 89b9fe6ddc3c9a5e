"use strict";

// Shared by every page that extends base.html (loaded in <head>, before the page's script).

// Text made safe for innerHTML.
function esc(value) {
  const span = document.createElement("span");
  span.textContent = value == null ? "" : String(value);
  return span.innerHTML;
}

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
