// The offline till's queue: sales finalised without a network wait in IndexedDB and are sent,
// in order, to POST /v1/till/sales with the Idempotency-Key made when each was finalised, so a
// sale sent twice (a reply lost on the way back, two tabs) is recorded once. Loaded on every
// associate page: the badge #pending-sales counts what waits.

const DB_NAME = "parcours-till";
const STORE = "sales";
const ENDPOINT = "/v1/till/sales";
const RETRY_MS = 30000;

const TEXTS = {
  fr: {
    waiting: (n) => (n > 1 ? `${n} ventes en attente` : `${n} vente en attente`),
    check: (n) => `${n} à vérifier`,
  },
  en: {
    waiting: (n) => (n > 1 ? `${n} sales waiting` : `${n} sale waiting`),
    check: (n) => `${n} to check`,
  },
};
const texts = TEXTS[document.documentElement.lang] || TEXTS.fr;

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(STORE, { keyPath: "key" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Every queued sale, oldest first. */
export async function queuedSales() {
  const all = (await run("readonly", (store) => store.getAll())) || [];
  return all.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

function changed() {
  window.dispatchEvent(new CustomEvent("till-queue"));
  refreshBadge();
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Keep a finalised sale until the server has it. ``body`` is sent as is, every time: the
 * server compares a repeated key's body with the first. */
export async function queueSale(body, summary) {
  const sale = {
    key: newKey(),
    createdAt: new Date().toISOString(),
    status: "pending",
    payload: JSON.stringify(body),
    cartId: body.cart_id || null,
    summary,
    message: null,
  };
  await run("readwrite", (store) => store.put(sale));
  changed();
  return sale;
}

export async function forgetSale(key) {
  await run("readwrite", (store) => store.delete(key));
  changed();
}

export async function retrySale(key) {
  const sale = await run("readonly", (store) => store.get(key));
  if (sale) {
    sale.status = "pending";
    sale.message = null;
    await run("readwrite", (store) => store.put(sale));
    changed();
    await syncSales();
  }
}

async function markForCheck(sale, message) {
  sale.status = "check";
  sale.message = message;
  await run("readwrite", (store) => store.put(sale));
}

export async function refreshBadge() {
  const badge = document.getElementById("pending-sales");
  if (!badge) return;
  let sales = [];
  try {
    sales = await queuedSales();
  } catch {
    return; // no IndexedDB (private mode): nothing can be queued either
  }
  const waiting = sales.filter((s) => s.status === "pending").length;
  const check = sales.length - waiting;
  const parts = [];
  if (waiting) parts.push(texts.waiting(waiting));
  if (check) parts.push(texts.check(check));
  badge.textContent = parts.join(" · ");
  badge.hidden = parts.length === 0;
}

function csrf() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

let syncing = null;

/** Send what waits, oldest first; stop at the first network failure (the rest follows later). */
export function syncSales() {
  if (syncing) return syncing;
  const work = async () => {
    for (const sale of await queuedSales()) {
      if (sale.status !== "pending") continue;
      let answer;
      try {
        answer = await fetch(ENDPOINT, {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "Idempotency-Key": sale.key,
            "X-CSRF-Token": csrf(),
          },
          body: sale.payload,
        });
      } catch {
        return; // still offline: the next "online", page load or timer tries again
      }
      if (answer.ok) {
        await run("readwrite", (store) => store.delete(sale.key));
        continue;
      }
      let problem = {};
      try {
        problem = await answer.json();
      } catch {
        problem = {};
      }
      if (problem.code === "idempotency_in_progress") return; // another tab is sending it
      // Signed out or an expired page token (401, 403), too many requests (429) or a timeout
      // (408): the same sale may go through later. Any other 4xx (another store's sale included)
      // is refused on its merits: kept for a person to look at, never dropped silently, and the
      // sales after it still go.
      const retryLater = [401, 408, 429].includes(answer.status)
        || (answer.status === 403 && problem.code !== "store_out_of_scope");
      if (answer.status >= 400 && answer.status < 500 && !retryLater) {
        await markForCheck(sale, `${problem.detail || answer.statusText} (${problem.code || answer.status})`);
        continue;
      }
      return; // signed out, server busy or down: try again later
    }
  };
  const locked = navigator.locks
    ? () => navigator.locks.request("parcours-till-sync", work)
    : work;
  syncing = Promise.resolve()
    .then(locked)
    .catch(() => undefined)
    .finally(() => {
      syncing = null;
      changed();
    });
  return syncing;
}

window.addEventListener("online", () => syncSales());
refreshBadge();
if (navigator.onLine) syncSales();
setInterval(() => {
  if (navigator.onLine) syncSales();
}, RETRY_MS);
