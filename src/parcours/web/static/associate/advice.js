// Calls for an adviser, live on every associate page of a store.
//
// Every page with <meta name="parcours-store"> listens to the store's stream and shows the number
// of calls waiting in the nav badge (#advice-count). On the advice page (#advice-list) each change
// also reloads the list, so a new call appears without a reload; wait timers tick every second
// and turn red after five minutes.

const meta = document.querySelector('meta[name="parcours-store"]');
const storeId = meta ? meta.content : "";
const badge = document.getElementById("advice-count");
const list = document.getElementById("advice-list");

function showCount(waiting) {
  if (!badge || typeof waiting !== "number") return;
  badge.textContent = String(waiting);
  badge.hidden = waiting <= 0;
  badge.setAttribute("aria-label", `${waiting}`);
}

let reloading = null;
let again = false;

async function reloadList() {
  if (!list) return;
  if (reloading) {
    again = true; // a burst of changes: one more read after this one
    return;
  }
  reloading = (async () => {
    try {
      const response = await fetch(list.dataset.listUrl, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (!response.ok) return;
      // The fragment is this app's own template, rendered for this associate.
      list.innerHTML = await response.text();
      tick();
    } finally {
      reloading = null;
      if (again) {
        again = false;
        reloadList();
      }
    }
  })();
}

function format(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

function tick() {
  const now = Date.now();
  document.querySelectorAll(".timer[data-since]").forEach((timer) => {
    const since = Date.parse(timer.dataset.since);
    if (Number.isNaN(since)) return;
    const seconds = Math.max(0, Math.floor((now - since) / 1000));
    timer.textContent = format(seconds);
    timer.classList.toggle("late", seconds >= Number(timer.dataset.late || 300));
  });
}

if (storeId && "EventSource" in window) {
  const source = new EventSource(`/v1/locations/${encodeURIComponent(storeId)}/advice-requests/events`);
  let opened = false;
  source.addEventListener("initial", (event) => {
    showCount(JSON.parse(event.data).waiting);
    // After a reconnection, changes may have been missed while the stream was down.
    if (opened) reloadList();
    opened = true;
  });
  source.addEventListener("advice", (event) => {
    showCount(JSON.parse(event.data).waiting);
    reloadList();
  });
}

if (list) {
  tick();
  window.setInterval(tick, 1000);
}
