// Ordering a product for a customer: choosing a size reloads the page for it, and the address
// is asked only for a delivery. A file rather than inline script, for the CSP.
const form = document.getElementById("order-form");
const variant = document.getElementById("variant");
const address = document.getElementById("address");

variant.addEventListener("change", () => {
  const params = new URLSearchParams({ variant: variant.value });
  if (variant.dataset.client) params.set("client", variant.dataset.client);
  window.location.assign(`?${params}`);
});

const sync = () => {
  const delivery = form.querySelector('input[name="mode"]:checked')?.value === "delivery";
  address.hidden = !delivery;
  address.querySelectorAll("input").forEach((input) => { input.required = delivery; });
};
form.addEventListener("change", sync);
sync();
