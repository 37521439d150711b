// The camera button of the product search and sheet: a read code opens the product.
// Texts and the client come from the panel's data attributes (no inline script: the CSP).
import { startScanner, stopScanner } from "/static/associate/scanner.js";

const panel = document.getElementById("scan-panel");
const status = document.getElementById("scan-status");
const { client, hint, read, refused } = panel.dataset;

document.getElementById("scan-start").addEventListener("click", async () => {
  panel.hidden = false;
  status.textContent = hint;
  try {
    await startScanner(document.getElementById("scan-video"), (text) => {
      status.textContent = read;
      const params = new URLSearchParams({ code: text });
      if (client) params.set("client", client);
      window.location.assign(`/associate/produits?${params}`);
    });
  } catch (error) {
    status.textContent = refused;
  }
});
document.getElementById("scan-stop").addEventListener("click", () => {
  stopScanner();
  panel.hidden = true;
});
