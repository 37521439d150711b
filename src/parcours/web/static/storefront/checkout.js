// Checkout: show only the choices of the delivery method she picked (without this script every
// fieldset shows, and the server still takes the one that matches); pay forms submit once.
const form = document.querySelector("[data-checkout]");
if (form) {
  const sync = () => {
    const method = form.querySelector("input[name=method]:checked")?.value;
    for (const fieldset of form.querySelectorAll("fieldset[data-for]")) {
      const shown = fieldset.dataset.for === method;
      fieldset.hidden = !shown;
      for (const input of fieldset.querySelectorAll("#name, #line1, #postcode, #city")) input.required = shown;
    }
  };
  form.addEventListener("change", (event) => { if (event.target.name === "method") sync(); });
  sync();
}

for (const pay of document.querySelectorAll("[data-pay-form]")) {
  const expiry = pay.querySelector("[name=expiry]");
  expiry?.addEventListener("input", () => {
    const digits = expiry.value.replace(/\D/g, "").slice(0, 4);
    expiry.value = digits.length > 2 ? `${digits.slice(0, 2)}/${digits.slice(2)}` : digits;
  });
  // One tap, one payment: the server would answer a second post with the same payment anyway
  // (the Idempotency-Key in the form), but a disabled button says "working on it".
  pay.addEventListener("submit", () => {
    const button = pay.querySelector("[data-pay-button]");
    if (button) setTimeout(() => { button.disabled = true; }, 0);
  });
}
