// Her opt-in to "ready for pickup" on this phone: asked on a tap, never on page load.
// The texts come from the box's data-said attribute (JSON): no inline script, for the CSP.
import { pushState, subscribeToPush } from "/static/storefront/push.js";

const box = document.querySelector("[data-push-optin]");
const status = box.querySelector("[data-push-status]");
const said = JSON.parse(box.dataset.said);
const state = await pushState();
if (state !== "unsupported" && state !== "unavailable") {
  box.hidden = false;
  if (state === "subscribed" || state === "denied") {
    box.querySelector("button").hidden = true;
    status.textContent = said[state];
  }
  box.querySelector("[data-push-subscribe]").addEventListener("click", async (event) => {
    const outcome = await subscribeToPush();
    status.textContent = said[outcome] || said.failed;
    if (outcome === "subscribed") event.target.hidden = true;
  });
}
