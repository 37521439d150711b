// The shopper's scanner: her phone's camera reads a barcode or one of our QR codes, in the phone.
//
// The browser's own BarcodeDetector where it has one (Chrome on Android, Safari 17+ on macOS);
// elsewhere the vendored zxing WebAssembly build (npm "barcode-detector", same API), loaded only
// then and served from this site, never a CDN: the page works with no internet beyond the shop.
// The text read is posted to /scanner/code by the page's own form (plain PRG, no JSON API).
// No camera, or a refused one: the message says so and the photo form takes over.

const FORMATS = ["ean_13", "ean_8", "upc_a", "qr_code"];
const WASM = "/static/vendor/barcode-detector/zxing_reader.wasm";
const TICK_MS = 200;

const root = document.querySelector("[data-scanner]");
const video = document.getElementById("scan-video");
const view = root.querySelector(".scan-view");
const start = document.getElementById("scan-start");
const status = document.getElementById("scan-status");
const form = document.getElementById("scan-form");
const field = document.getElementById("scan-code");
const photoForm = document.getElementById("scan-photo");
const photo = document.getElementById("scan-file");

let stream = null;
let timer = null;
let wasRunning = false;
let detectorPromise = null;
let starting = false;

function say(key) {
  status.textContent = root.dataset[key] || "";
}

async function makeDetector() {
  if ("BarcodeDetector" in window) {
    try {
      const supported = await window.BarcodeDetector.getSupportedFormats();
      const formats = FORMATS.filter((format) => supported.includes(format));
      if (formats.length) return new window.BarcodeDetector({ formats });
    } catch {
      // A detector that cannot list its formats: use the WebAssembly one.
    }
  }
  const zxing = await import("/static/vendor/barcode-detector/ponyfill.js");
  zxing.setZXingModuleOverrides({
    locateFile: (path, prefix) => (path.endsWith(".wasm") ? WASM : prefix + path),
  });
  return new zxing.BarcodeDetector({ formats: FORMATS });
}

function detector() {
  detectorPromise = detectorPromise || makeDetector();
  return detectorPromise;
}

async function openCamera() {
  const wanted = { video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 } }, audio: false };
  try {
    return await navigator.mediaDevices.getUserMedia(wanted);
  } catch (error) {
    if (error && error.name === "OverconstrainedError") {
      return navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    }
    throw error;
  }
}

/** Release the camera (its light goes off): on a read, on leaving, on hiding the page. */
function stopCamera() {
  if (timer !== null) window.clearInterval(timer);
  timer = null;
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  video.srcObject = null;
  view.dataset.state = view.dataset.state === "running" ? "idle" : view.dataset.state;
}

function fallBackToPhoto(key) {
  stopCamera();
  view.dataset.state = "unavailable";
  say(key);
  photoForm.classList.add("highlight");
}

function found(text) {
  stopCamera();
  view.dataset.state = "read";
  say("msgRead");
  if (navigator.vibrate) navigator.vibrate(60);
  field.value = text;
  form.requestSubmit();
}

async function startCamera() {
  if (stream || starting) return;
  starting = true;
  try {
    await openAndRead();
  } finally {
    starting = false;
  }
}

async function openAndRead() {
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    fallBackToPhoto(window.isSecureContext ? "msgNoCamera" : "msgInsecure");
    return;
  }
  say("msgStarting");
  view.dataset.state = "starting";
  const reading = detector(); // the decoder loads while the camera opens
  try {
    stream = await openCamera();
  } catch (error) {
    const name = error && error.name;
    fallBackToPhoto(name === "NotAllowedError" || name === "SecurityError" ? "msgDenied" : "msgNoCamera");
    return;
  }
  video.srcObject = stream;
  await video.play().catch(() => {});
  let reader;
  try {
    reader = await reading;
  } catch {
    fallBackToPhoto("msgNoDecoder");
    return;
  }
  if (!stream) return; // left the page meanwhile
  view.dataset.state = "running";
  say("msgLooking");
  let busy = false;
  timer = window.setInterval(async () => {
    if (busy || !stream || video.readyState < 2) return;
    busy = true;
    try {
      const codes = await reader.detect(video);
      const code = codes.find((c) => c.rawValue);
      if (code) found(code.rawValue);
    } catch {
      // A frame the decoder could not take: the next tick tries again.
    } finally {
      busy = false;
    }
  }, TICK_MS);
}

start.addEventListener("click", () => startCamera());
// With this script the photo goes as soon as it is taken: the send button is for pages without it.
photoForm.querySelector(".scan-photo-send").hidden = true;
photo.addEventListener("change", () => {
  if (photo.files && photo.files.length) photoForm.requestSubmit();
});
// Leaving or hiding the page stops the camera; coming back resumes it if it was on.
window.addEventListener("pagehide", stopCamera);
document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    wasRunning = stream !== null;
    stopCamera();
    if (wasRunning) say("msgPaused");
  } else if (wasRunning) {
    wasRunning = false;
    startCamera();
  }
});

// Permission already given on an earlier visit: no need to tap again.
if (navigator.permissions && navigator.permissions.query) {
  navigator.permissions
    .query({ name: "camera" })
    .then((state) => {
      if (state.state === "granted") startCamera();
      else if (state.state === "denied") fallBackToPhoto("msgDenied");
    })
    .catch(() => {});
}
