// The cart page stays in step with her other devices: the server sends the cart's version on
// every change (Server-Sent Events, /panier/evenements) and the lines are read again.
const root = document.querySelector("[data-cart-live]");

if (root && "EventSource" in window) {
  const body = root.querySelector("[data-cart-body]");
  const note = root.querySelector("[data-live-note]");
  let shown = Number(root.dataset.version || 0);
  let busy = false;
  let again = false;

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const response = await fetch("/panier?fragment=1", { headers: { Accept: "text/html" }, cache: "no-store" });
      if (!response.ok) return;
      const html = await response.text();
      const fresh = document.createElement("div");
      fresh.innerHTML = html;
      const marker = fresh.querySelector("[data-version]");
      const version = marker ? Number(marker.dataset.version) : 0;
      const hadLines = body.querySelector("[data-testid=cart-lines]") !== null;
      const hasLines = fresh.querySelector("[data-testid=cart-lines]") !== null;
      if (hadLines !== hasLines) { window.location.reload(); return; }  // the buttons around change too
      body.replaceChildren(...fresh.childNodes);
      shown = Math.max(shown, version);
      root.dataset.version = String(shown);
      if (note) note.textContent = document.documentElement.lang === "en"
        ? "Your cart was updated." : "Votre panier a été mis à jour.";
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }

  const source = new EventSource(root.dataset.cartLive);
  const onVersion = (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    if (message.type === "ended") { source.close(); window.location.reload(); return; }
    if (message.type === "resync" || (typeof message.version === "number" && message.version > shown)) refresh();
  };
  source.addEventListener("initial", onVersion);
  source.addEventListener("cart", onVersion);
  window.addEventListener("pagehide", () => source.close());
}
