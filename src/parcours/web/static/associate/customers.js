// Clienteling: scan her loyalty card with the tablet's camera. The decoded text goes into the
// search, which opens her 360 when the card matches. A handheld scanner needs no script: it
// types into the autofocused field and presses Enter.
const button = document.getElementById("scan-card");
const video = document.getElementById("scan-video");
const status = document.getElementById("scan-status");
let scanning = false;
let scanner = null;

function idle() {
  scanning = false;
  video.hidden = true;
  button.textContent = button.dataset.idle;
  button.setAttribute("aria-pressed", "false");
}

async function start() {
  try {
    scanner ??= await import("/static/associate/scanner.js");
    scanning = true;
    video.hidden = false;
    button.textContent = button.dataset.busy;
    button.setAttribute("aria-pressed", "true");
    status.textContent = status.dataset.aim;
    await scanner.startScanner(video, (text) => {
      scanner.stopScanner();
      idle();
      window.location.assign(`/associate/clients?q=${encodeURIComponent(text.trim())}`);
    });
  } catch (error) {
    if (scanner) scanner.stopScanner();
    idle();
    status.textContent = status.dataset.unavailable;
  }
}

if (button && video && status) {
  button.setAttribute("aria-pressed", "false");
  button.addEventListener("click", () => {
    if (!scanning) {
      start();
      return;
    }
    scanner?.stopScanner();
    idle();
    status.textContent = "";
  });
}
