// The test provider's 3-D Secure page: post the payer's answer with the payment's client secret.
// Where to post and the secret come from the page's JSON data block (no inline script: the CSP).
const answer = JSON.parse(document.getElementById("answer").textContent);
for (const button of document.querySelectorAll("button[data-outcome]")) {
  button.addEventListener("click", async () => {
    const response = await fetch(answer.path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ outcome: button.dataset.outcome, client_secret: answer.secret }),
    });
    const payment = await response.json();
    document.getElementById("answers").hidden = true;
    document.getElementById("status").textContent =
      payment.status === "captured" ? "Paiement approuvé." :
      payment.status === "failed" ? "Paiement refusé." : (payment.detail || payment.status);
  });
}
