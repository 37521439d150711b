// parcours-track.js: first-party page and event tracking for Parcours' collection API.
//
//   import { parcours } from "/static/parcours-track.js";
//   parcours.init({ writeKey: "wk_…" });          // a web write key: it can only send events
//   parcours.page();                              // a page view
//   parcours.track("Product Viewed", { product_id: "prd_1" });
//   parcours.consent({ analytics: true });        // once the visitor agreed
//   parcours.identify("u-42", { plan: "gold" });  // after consent only
//
// Consent. Before `consent({analytics: true})` nothing identifying leaves the page or is kept
// in it: no cookie, no localStorage, no user id, no traits, no referrer, no URL query string.
// Page and track events are still sent, each with a random anonymousId made for that one event
// (the API requires one) that is never stored, so events cannot be linked to each other or to a
// person; they carry `context.consent.analytics = false`. `identify()` is ignored before
// consent. `consent({analytics: false})` withdraws: the stored anonymous id and user id are
// deleted and the next events are anonymous again.
//
// Delivery. Events are batched to `/v1/batch` (every `flushInterval` ms or `batchSize` events)
// with `fetch(…, {keepalive: true})`, and with `navigator.sendBeacon` when the page is hidden or
// left. Each event has a messageId, so a batch sent twice is stored once.

const VERSION = "1.0.0";
const STORAGE_KEY = "parcours.aid";
const USER_KEY = "parcours.uid";
const CONSENT_KEY = "parcours.consent";
const COOKIE = "parcours_aid";
const COOKIE_MAX_AGE = 60 * 60 * 24 * 395; // 13 months, the usual limit for audience cookies

function uuid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function readStorage(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled (private mode, sandboxed frame)
  }
}

function writeStorage(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    /* storage disabled: the cookie still carries the id */
  }
}

function readCookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

function writeCookie(name, value) {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie =
    value === null
      ? `${name}=; Max-Age=0; Path=/; SameSite=Lax${secure}`
      : `${name}=${encodeURIComponent(value)}; Max-Age=${COOKIE_MAX_AGE}; Path=/; SameSite=Lax${secure}`;
}

// The URL without its query string and fragment (they may carry emails, tokens, ids), except the
// utm_* parameters: campaign attribution (a scanned print QR) is not personal.
function withoutQuery(url) {
  try {
    const parsed = new URL(url, location.href);
    const kept = new URLSearchParams();
    for (const [key, value] of parsed.searchParams) if (key.startsWith("utm_")) kept.append(key, value);
    const query = kept.toString();
    return `${parsed.origin}${parsed.pathname}${query ? `?${query}` : ""}`;
  } catch {
    return "";
  }
}

class Tracker {
  constructor() {
    this.options = null;
    this.queue = [];
    this.timer = null;
    this.consented = false;
    this.anonymousId = null;
    this.userId = null;
  }

  /** Start tracking: `writeKey` (required), `host` (default: this origin), `flushInterval`
   *  (ms, default 2000), `batchSize` (default 20). */
  init({ writeKey, host = "", flushInterval = 2000, batchSize = 20 } = {}) {
    if (!writeKey) throw new Error("parcours.init needs a writeKey");
    this.options = { writeKey, host: host.replace(/\/$/, ""), flushInterval, batchSize };
    this.consented = readStorage(CONSENT_KEY) === "analytics";
    if (this.consented) {
      this.anonymousId = readStorage(STORAGE_KEY) || readCookie(COOKIE) || uuid();
      this.userId = readStorage(USER_KEY);
      this.persist();
    }
    const leave = () => this.flush({ beacon: true });
    addEventListener("pagehide", leave);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") leave();
    });
    return this;
  }

  /** Record the visitor's choice; only `analytics` matters here. */
  consent({ analytics = false } = {}) {
    this.consented = Boolean(analytics);
    if (this.consented) {
      writeStorage(CONSENT_KEY, "analytics");
      this.anonymousId = this.anonymousId || readStorage(STORAGE_KEY) || readCookie(COOKIE) || uuid();
      this.persist();
    } else {
      writeStorage(CONSENT_KEY, null);
      writeStorage(STORAGE_KEY, null);
      writeStorage(USER_KEY, null);
      writeCookie(COOKIE, null);
      this.anonymousId = null;
      this.userId = null;
    }
  }

  persist() {
    writeStorage(STORAGE_KEY, this.anonymousId);
    writeCookie(COOKIE, this.anonymousId);
    if (this.userId) writeStorage(USER_KEY, this.userId);
  }

  page(name, properties = {}) {
    const props = { ...this.pageProperties(), ...properties };
    this.enqueue({ type: "page", ...(name ? { name } : {}), properties: props });
  }

  track(event, properties = {}) {
    if (!event) throw new Error("parcours.track needs an event name");
    this.enqueue({ type: "track", event, properties: { ...properties } });
  }

  /** Link this browser to a known user: ignored without analytics consent. */
  identify(userId, traits = {}) {
    if (!this.consented || !userId) return false;
    this.userId = String(userId);
    this.persist();
    this.enqueue({ type: "identify", traits: { ...traits } });
    return true;
  }

  pageProperties() {
    if (!this.consented) return { path: location.pathname, url: withoutQuery(location.href), title: document.title };
    return {
      path: location.pathname,
      url: location.href,
      search: location.search,
      referrer: document.referrer,
      title: document.title,
    };
  }

  context() {
    const page = this.pageProperties();
    const context = {
      page,
      locale: navigator.language,
      library: { name: "parcours-track.js", version: VERSION },
      consent: { analytics: this.consented },
    };
    if (this.consented) context.userAgent = navigator.userAgent;
    return context;
  }

  enqueue(message) {
    if (!this.options) throw new Error("call parcours.init({writeKey}) first");
    const full = {
      ...message,
      messageId: uuid(),
      timestamp: new Date().toISOString(),
      context: this.context(),
    };
    if (this.consented) {
      full.anonymousId = this.anonymousId;
      if (this.userId) full.userId = this.userId;
    } else {
      full.anonymousId = uuid(); // for this one event only: never stored, links nothing
      delete full.traits;
    }
    this.queue.push(full);
    if (this.queue.length >= this.options.batchSize) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.options.flushInterval);
  }

  /** Send what is queued; returns a promise that settles when the server answered. */
  flush({ beacon = false } = {}) {
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.options || this.queue.length === 0) return Promise.resolve(true);
    const batch = this.queue.splice(0, this.queue.length);
    const body = JSON.stringify({
      batch,
      sentAt: new Date().toISOString(),
      writeKey: this.options.writeKey,
    });
    const url = `${this.options.host}/v1/batch`;
    // text/plain keeps cross-origin sends "simple" (no preflight); the server reads JSON anyway.
    if (beacon && navigator.sendBeacon) {
      if (navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) {
        return Promise.resolve(true);
      }
    }
    return fetch(url, {
      method: "POST",
      body,
      keepalive: body.length < 60000,
      headers: { "Content-Type": "text/plain" },
      credentials: "omit",
    })
      .then((response) => {
        if (response.status === 429 || response.status >= 500) this.retry(batch);
        return response.ok;
      })
      .catch(() => {
        this.retry(batch); // offline: sent again later with the same messageIds
        return false;
      });
  }

  retry(batch) {
    this.queue.unshift(...batch);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), this.options.flushInterval * 2);
  }
}

export const parcours = new Tracker();
export default parcours;
