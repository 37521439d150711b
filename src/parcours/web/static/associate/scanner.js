// The tablet's camera as a barcode scanner: product labels (EAN-13), our QR codes, loyalty cards.
//
//   import { startScanner, stopScanner } from "/static/associate/scanner.js";
//   await startScanner(videoElement, (text) => { ... });   // called once, then the camera stops
//
// Where the browser reads barcodes itself (BarcodeDetector: Chrome on Android, ChromeOS, macOS),
// frames never leave the tablet. Elsewhere (Chromium on Linux has none) a frame is sent every
// ~400 ms to POST /v1/code-reads, which decodes it with zxing-cpp; the staff session cookie and
// the page's CSRF token authenticate it.

const INTERVAL_MS = 400;
const FORMATS = ["ean_13", "ean_8", "upc_a", "qr_code"];

let current = null; // { stream, timer, video, done }

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
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

function frameAsJpeg(video, canvas) {
  const width = video.videoWidth;
  const height = video.videoHeight;
  if (!width || !height) return Promise.resolve(null);
  // Large enough for a label read at arm's length, small enough to send several a second.
  const scale = Math.min(1, 1280 / Math.max(width, height));
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
}

async function readOnServer(blob) {
  const body = new FormData();
  body.append("image", blob, "frame.jpg");
  const response = await fetch("/v1/code-reads", {
    method: "POST",
    body,
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
  });
  if (response.status === 200) {
    const found = await response.json();
    return found.text || null;
  }
  if (response.status === 401 || response.status === 403) {
    throw new Error(`scanner refused: ${response.status}`);
  }
  return null; // 422: nothing readable in this frame, try the next one
}

async function makeDetector() {
  if (!("BarcodeDetector" in window)) return null;
  try {
    const supported = await window.BarcodeDetector.getSupportedFormats();
    const formats = FORMATS.filter((format) => supported.includes(format));
    return formats.length ? new window.BarcodeDetector({ formats }) : null;
  } catch {
    return null;
  }
}

/** Open the rear camera in ``video`` and call ``onText(text)`` once, on the first code read. */
export async function startScanner(video, onText) {
  stopScanner();
  const stream = await openCamera();
  video.srcObject = stream;
  video.setAttribute("playsinline", "");
  video.muted = true;
  await video.play().catch(() => {});
  const detector = await makeDetector();
  const canvas = document.createElement("canvas");
  const scan = { stream, timer: null, video, done: false, busy: false };
  current = scan;

  const finish = (text) => {
    if (scan.done) return;
    scan.done = true;
    stopScanner();
    onText(text);
  };

  scan.timer = window.setInterval(async () => {
    if (scan.done || scan.busy || video.readyState < 2) return;
    scan.busy = true;
    try {
      if (detector) {
        const codes = await detector.detect(video);
        if (codes.length && codes[0].rawValue) finish(codes[0].rawValue);
      } else {
        const blob = await frameAsJpeg(video, canvas);
        const text = blob ? await readOnServer(blob) : null;
        if (text) finish(text);
      }
    } catch (error) {
      if (String(error).includes("scanner refused")) {
        stopScanner();
        throw error;
      }
      // A dropped frame or a network hiccup: the next tick tries again.
    } finally {
      scan.busy = false;
    }
  }, INTERVAL_MS);
}

/** Stop reading and release the camera (its light goes off). */
export function stopScanner() {
  const scan = current;
  current = null;
  if (!scan) return;
  scan.done = true;
  if (scan.timer !== null) window.clearInterval(scan.timer);
  scan.stream.getTracks().forEach((track) => track.stop());
  scan.video.srcObject = null;
}
