// The storefront's service worker, served at /sw.js (scope "/") by web/storefront/pwa.py, which
// fills in the cache version and the precache list. A deploy changes the version (the package
// version plus a hash of the static files), so the new worker installs, takes over and deletes
// the old caches.
//
// What it keeps, and why:
// - catalogue pages she has already seen (home, products, categories, search, stores): network
//   first, so she always sees today's prices and stock when online; the last copy when offline;
// - /static/ and product images: stale-while-revalidate (instant, refreshed in the background);
// - never: the API (/v1/), her cart, checkout, account, the associates' pages, anything that is
//   not a GET, and any response marked no-store or private: her personal data stays on the
//   server, not in a cache that outlives her session.
// Other pages go to the network, and to the offline page when there is none.

const VERSION = "__CACHE_VERSION__";
const PRECACHE = __PRECACHE__;
const OFFLINE_URL = "/hors-ligne";
const SHELL = `parcours-shell-${VERSION}`;
const PAGES = `parcours-pages-${VERSION}`;
const ASSETS = `parcours-assets-${VERSION}`;
const MAX_PAGES = 60;

const NEVER = ["/v1/", "/panier", "/commande", "/payer", "/compte", "/associate", "/equipe", "/connexion", "/push/", "/consentement", "/kiosk"];
const CATALOGUE = [/^\/$/, /^\/produits\//, /^\/rayons/, /^\/recherche/, /^\/magasins/];
const ASSET_PREFIXES = ["/static/", "/demo/static/"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  const current = new Set([SHELL, PAGES, ASSETS]);
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(names.filter((n) => n.startsWith("parcours-") && !current.has(n)).map((n) => caches.delete(n))),
      )
      .then(() => self.clients.claim()),
  );
});

function cacheable(response) {
  if (!response || response.status !== 200 || response.type !== "basic") return false;
  const control = (response.headers.get("Cache-Control") || "").toLowerCase();
  return !control.includes("no-store") && !control.includes("private");
}

async function trim(cacheName, max) {
  const cache = await caches.open(cacheName);
  const keys = await cache.keys();
  for (const key of keys.slice(0, Math.max(0, keys.length - max))) await cache.delete(key);
}

async function offlinePage() {
  return (await caches.match(OFFLINE_URL)) || new Response("Hors ligne", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (cacheable(response)) {
      const copy = response.clone();
      caches.open(PAGES).then((cache) => cache.put(request, copy).then(() => trim(PAGES, MAX_PAGES)));
    }
    return response;
  } catch {
    return (await caches.match(request, { cacheName: PAGES })) || offlinePage();
  }
}

async function networkOnly(request) {
  try {
    return await fetch(request);
  } catch {
    return offlinePage();
  }
}

async function staleWhileRevalidate(event, request) {
  const cache = await caches.open(ASSETS);
  const cached = (await cache.match(request)) || (await caches.match(request, { cacheName: SHELL }));
  const refresh = fetch(request)
    .then((response) => {
      if (cacheable(response)) return cache.put(request, response.clone()).then(() => response);
      return response;
    })
    .catch(() => cached || Response.error());
  if (cached) {
    event.waitUntil(refresh.catch(() => null));
    return cached;
  }
  return refresh;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (ASSET_PREFIXES.some((prefix) => path.startsWith(prefix))) {
    event.respondWith(staleWhileRevalidate(event, request));
    return;
  }
  if (request.mode !== "navigate") return; // htmx fragments, JSON: straight to the network
  if (path === OFFLINE_URL) {
    event.respondWith(networkFirst(request));
    return;
  }
  if (NEVER.some((prefix) => path.startsWith(prefix))) {
    event.respondWith(networkOnly(request));
    return;
  }
  if (CATALOGUE.some((pattern) => pattern.test(path))) {
    event.respondWith(networkFirst(request));
    return;
  }
  event.respondWith(networkOnly(request));
});

// Web push: "Votre commande est prête". The payload is JSON {title, body, url, tag}, encrypted
// for this browser by the server (aes128gcm).
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "Parcours", {
      body: data.body || "",
      tag: data.tag,
      icon: "/static/storefront/icons/icon-192.png",
      badge: "/static/storefront/icons/badge-96.png",
      lang: data.lang || "fr",
      data: { url: data.url || "/" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url || "/", self.location.origin);
  if (target.origin !== self.location.origin) return; // only our own pages
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const client of windows) {
        if (client.url === target.href && "focus" in client) return client.focus();
      }
      return self.clients.openWindow(target.href);
    }),
  );
});
