// Pickup desk: each waiting customer's timer ticks every second and turns red after 5 minutes;
// a confirm button is disabled once tapped, so a second tap does not send the form again.
const LATE_AFTER = 5 * 60;

function format(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  if (hours) return `${hours} h ${String(minutes).padStart(2, "0")}`;
  return minutes ? `${minutes} min ${rest} s` : `${s % 60} s`;
}

function tick() {
  const now = Date.now();
  for (const timer of document.querySelectorAll(".timer[data-since]")) {
    const since = Date.parse(timer.dataset.since);
    if (Number.isNaN(since)) continue;
    const waited = (now - since) / 1000;
    timer.textContent = format(waited);
    timer.classList.toggle("late", waited >= LATE_AFTER);
  }
}

if (document.querySelector(".timer[data-since]")) {
  tick();
  setInterval(tick, 1000);
}

for (const button of document.querySelectorAll("button[data-once]")) {
  button.form?.addEventListener("submit", () => {
    // After the browser has taken the submit: disabling first would drop the button's value.
    setTimeout(() => { button.disabled = true; }, 0);
  });
}

// Returns: what she will get back, as the associate picks the quantities (the server decides).
const preview = document.getElementById("refund-preview");
if (preview) {
  const locale = document.documentElement.lang === "en" ? "en-GB" : "fr-FR";
  const money = new Intl.NumberFormat(locale, { style: "currency", currency: preview.dataset.currency });
  const selects = document.querySelectorAll("select[data-unit-price]");
  const update = () => {
    let total = 0;
    for (const select of selects) total += Number(select.value) * Number(select.dataset.unitPrice);
    preview.textContent = money.format(total / 100);
  };
  for (const select of selects) select.addEventListener("change", update);
  update();
}
