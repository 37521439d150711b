// The till's pages: quick cash amounts, one tap per payment, waiting for a payment link, print,
// and when the network is gone, the sale on screen recorded here and queued for later.
import { queueSale, queuedSales, forgetSale, retrySale, syncSales } from "./offline-till.js";

const lang = document.documentElement.lang === "en" ? "en" : "fr";
const T = {
  fr: {
    recorded: (change) => (change ? `Vente enregistrée hors ligne. Rendu : ${change}` : "Vente enregistrée hors ligne."),
    waitingHere: "Cette vente est enregistrée sur la tablette et attend le réseau pour être envoyée.",
    tenderShort: "Le montant reçu ne couvre pas le total.",
    tenderBad: "Saisissez le montant reçu, par exemple 50 ou 12,50.",
    referenceMissing: "Saisissez la référence du ticket terminal.",
    retry: "Réessayer",
    forget: "Supprimer",
    forgetConfirm: "Supprimer cette vente de la tablette ? Elle ne sera pas enregistrée.",
    toCheck: "À vérifier",
  },
  en: {
    recorded: (change) => (change ? `Sale recorded offline. Change: ${change}` : "Sale recorded offline."),
    waitingHere: "This sale is kept on the tablet and waits for the network to be sent.",
    tenderShort: "The cash received does not cover the total.",
    tenderBad: "Type the cash received, such as 50 or 12.50.",
    referenceMissing: "Type the terminal slip reference.",
    retry: "Try again",
    forget: "Delete",
    forgetConfirm: "Delete this sale from the tablet? It will not be recorded.",
    toCheck: "To check",
  },
}[lang];

function money(minor, currency) {
  return new Intl.NumberFormat(lang === "en" ? "en-GB" : "fr-FR", { style: "currency", currency }).format(minor / 100);
}

function parseAmount(text) {
  const found = /^\s*(\d{1,6})(?:[.,](\d{1,2}))?\s*(?:€|eur)?\s*$/i.exec(text || "");
  if (!found) return null;
  return Number(found[1]) * 100 + Number((found[2] || "0").padEnd(2, "0"));
}

// --- the payment page --------------------------------------------------------------------------

for (const button of document.querySelectorAll("[data-tender]")) {
  button.addEventListener("click", () => {
    const field = document.getElementById("tendered");
    const minor = Number(button.dataset.tender);
    field.value = (minor / 100).toFixed(2).replace(".", lang === "en" ? "." : ",").replace(/[.,]00$/, "");
    field.focus();
  });
}

for (const form of document.querySelectorAll("form[data-pay]")) {
  // The Idempotency-Key in the form already makes a double tap pay once; this spares the wait.
  form.addEventListener("submit", () => {
    for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = true;
  });
}

const poll = document.querySelector("[data-poll]");
if (poll) {
  const check = async () => {
    try {
      const answer = await fetch(poll.dataset.poll, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (answer.ok && (await answer.json()).paid) {
        window.location.reload();
        return;
      }
    } catch {
      // the network blinked: ask again
    }
    setTimeout(check, 2000);
  };
  setTimeout(check, 2000);
}

for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}

// --- the sale page, offline --------------------------------------------------------------------

const sale = document.getElementById("sale");
if (sale) {
  const offlinePanel = document.getElementById("offline-sale");
  const offlineNotice = document.getElementById("offline-notice");
  const done = document.getElementById("offline-done");
  const form = document.getElementById("offline-form");
  const errorBox = document.getElementById("offline-error");
  const currency = sale.dataset.currency || "EUR";

  const lines = () =>
    Array.from(sale.querySelectorAll("tr[data-line]"), (row) => ({
      variant_id: row.dataset.variantId,
      name: row.dataset.name,
      quantity: Number(row.dataset.quantity),
      unit_price: Number(row.dataset.unitPrice),
    }));

  const showState = () => {
    const offline = !navigator.onLine;
    offlineNotice.hidden = !offline;
    for (const form of document.querySelectorAll("form[data-online-only]")) {
      // Once the sale on screen is sold offline, only "new sale" stays (when the network is back).
      const spent = sale.dataset.sold === "1" && form.dataset.onlineOnly !== "keep";
      for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = offline || spent;
    }
    if (offlinePanel) offlinePanel.hidden = !offline || sale.dataset.sold === "1";
  };

  const markSold = (message) => {
    sale.dataset.sold = "1";
    for (const table of sale.querySelectorAll("table")) table.hidden = true;
    // What is on screen is sold: its total and the server's last notices no longer apply.
    document.getElementById("sale-total").hidden = true;
    for (const stale of document.querySelectorAll(".notice:not(#offline-done)")) stale.hidden = true;
    done.textContent = message;
    done.hidden = false;
    showState();
  };

  // Taps that need the server are held back while it cannot be reached.
  for (const onlineOnly of document.querySelectorAll("form[data-online-only]")) {
    onlineOnly.addEventListener("submit", (event) => {
      if (!navigator.onLine) {
        event.preventDefault();
        showState();
        offlineNotice.focus?.();
      }
    });
  }

  if (form) {
    for (const radio of form.querySelectorAll("input[name=method]")) {
      radio.addEventListener("change", () => {
        for (const block of form.querySelectorAll("[data-for]")) block.hidden = block.dataset.for !== radio.value || !radio.checked;
      });
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      errorBox.hidden = true;
      const items = lines();
      if (!items.length) return;
      const total = items.reduce((sum, line) => sum + line.unit_price * line.quantity, 0);
      const method = form.elements.method.value;
      const payment = { method };
      let change = null;
      if (method === "cash") {
        const tendered = parseAmount(form.elements.tendered.value);
        if (tendered === null) {
          errorBox.textContent = T.tenderBad;
          errorBox.hidden = false;
          return;
        }
        if (tendered < total) {
          errorBox.textContent = T.tenderShort;
          errorBox.hidden = false;
          return;
        }
        payment.tendered = tendered;
        change = tendered - total;
      } else {
        const reference = form.elements.reference.value.trim();
        if (!reference) {
          errorBox.textContent = T.referenceMissing;
          errorBox.hidden = false;
          return;
        }
        payment.terminal_reference = reference;
      }
      const body = {
        store_id: sale.dataset.store,
        lines: items.map((line) => ({ variant_id: line.variant_id, quantity: line.quantity })),
        payment,
        sold_at: new Date().toISOString(),
        locale: lang,
      };
      if (sale.dataset.cart) body.cart_id = sale.dataset.cart;
      if (sale.dataset.profile) body.profile_id = sale.dataset.profile;
      for (const button of form.querySelectorAll("button")) button.disabled = true;
      await queueSale(body, { lines: items, total, currency });
      markSold(T.recorded(change === null ? null : money(change, currency)));
      syncSales();
    });
  }

  // Sales refused by the server wait here for a person: its message, try again, or delete.
  const queueBox = document.getElementById("till-queue");
  const queueList = document.getElementById("till-queue-list");
  const showQueue = async () => {
    let sales = [];
    try {
      sales = await queuedSales();
    } catch {
      return;
    }
    const current = sale.dataset.cart;
    if (current && sale.dataset.sold !== "1" && sales.some((s) => s.cartId === current && s.status === "pending")) {
      markSold(T.waitingHere);
    }
    const toCheck = sales.filter((s) => s.status === "check");
    queueList.replaceChildren(
      ...toCheck.map((s) => {
        const item = document.createElement("li");
        const text = document.createElement("p");
        const when = new Date(JSON.parse(s.payload).sold_at).toLocaleString(lang === "en" ? "en-GB" : "fr-FR");
        const what = (s.summary?.lines || []).map((l) => `${l.quantity} × ${l.name}`).join(", ");
        const strong = document.createElement("strong");
        strong.textContent = `${T.toCheck} · ${when} · ${money(s.summary?.total || 0, s.summary?.currency || "EUR")}`;
        text.append(strong, document.createElement("br"), what, document.createElement("br"), s.message || "");
        const retry = document.createElement("button");
        retry.type = "button";
        retry.textContent = T.retry;
        retry.addEventListener("click", () => retrySale(s.key));
        const forget = document.createElement("button");
        forget.type = "button";
        forget.className = "danger";
        forget.textContent = T.forget;
        forget.addEventListener("click", () => {
          if (window.confirm(T.forgetConfirm)) forgetSale(s.key);
        });
        item.append(text, retry, forget);
        return item;
      }),
    );
    queueBox.hidden = toCheck.length === 0;
  };

  window.addEventListener("offline", showState);
  window.addEventListener("online", showState);
  window.addEventListener("till-queue", showQueue);
  showState();
  showQueue();
}
