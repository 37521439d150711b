// The in-store kiosk: reset after idle, the "sent to my phone" screen, the order form.
//
// After `data-idle` seconds without a touch (90), an overlay counts `data-countdown` seconds (10)
// down, then posts the page's "finish" form: the server sets the selection aside and ends the
// kiosk session, so the next shopper starts on a clean screen. `?idle=` / `?countdown=` in a URL
// shorten both for the rest of the browser tab (tests, demos), kept in sessionStorage.

const body = document.body;
const overlay = document.getElementById("k-idle");
const resetForm = document.getElementById("k-reset");
const left = overlay.querySelector("[data-countdown-left]");
const stay = overlay.querySelector("[data-stay]");

function timing(name, fallback) {
  const fromUrl = new URLSearchParams(window.location.search).get(name);
  const key = `kiosk.${name}`;
  try {
    if (fromUrl && /^\d+$/.test(fromUrl)) window.sessionStorage.setItem(key, fromUrl);
    const kept = window.sessionStorage.getItem(key);
    if (kept) return Number(kept);
  } catch {
    // Storage refused (a locked-down kiosk browser): the page's own figure stands.
  }
  return Number(body.dataset[name]) || fallback;
}

const idleMs = timing("idle", 90) * 1000;
const countdownSeconds = timing("countdown", 10);
let idleTimer = null;
let tick = null;
let remaining = countdownSeconds;

function hideOverlay() {
  if (tick !== null) window.clearInterval(tick);
  tick = null;
  overlay.hidden = true;
}

function finish() {
  hideOverlay();
  resetForm.requestSubmit();
}

function showOverlay() {
  // A clean home screen has nothing to clear: stay quiet.
  if (!body.dataset.busy) return;
  remaining = countdownSeconds;
  left.textContent = String(remaining);
  overlay.hidden = false;
  stay.focus();
  tick = window.setInterval(() => {
    remaining -= 1;
    left.textContent = String(Math.max(0, remaining));
    if (remaining <= 0) finish();
  }, 1000);
}

function touched() {
  if (!overlay.hidden) return; // only "I'm still here" (or finishing) closes the overlay
  if (idleTimer !== null) window.clearTimeout(idleTimer);
  idleTimer = window.setTimeout(showOverlay, idleMs);
}

stay.addEventListener("click", () => {
  hideOverlay();
  touched();
});
for (const type of ["pointerdown", "keydown", "touchstart", "wheel", "input"]) {
  window.addEventListener(type, touched, { passive: true, capture: true });
}
touched();

// The "send to my phone" screen: once her phone has the selection, say so and start afresh.
const phone = document.querySelector("[data-phone-state]");
if (phone) {
  const poll = window.setInterval(async () => {
    try {
      const response = await fetch(phone.dataset.phoneState, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const state = await response.json();
      if (state.sent) {
        window.clearInterval(poll);
        phone.querySelector("[data-waiting]").hidden = true;
        phone.querySelector("[data-sent]").hidden = false;
        window.setTimeout(finish, 4000);
      }
    } catch {
      // The network blinked: ask again at the next tick.
    }
  }, 2000);
}

// The order form: the address is asked only for a delivery.
const address = document.querySelector("[data-address]");
if (address) {
  const methods = document.querySelectorAll('input[name="method"]');
  const sync = () => {
    const chosen = document.querySelector('input[name="method"]:checked');
    address.hidden = !chosen || chosen.value !== "delivery";
  };
  methods.forEach((radio) => radio.addEventListener("change", sync));
  sync();
}
