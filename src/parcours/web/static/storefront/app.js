// The storefront's shell module, loaded on every shop page: it registers the service worker
// (offline catalogue, web push), runs the cookie banner and starts the first-party tracking.
//
// Consent. The choice lives in a first-party cookie `parcours_consent` ("a1.p0": analytics yes,
// personalisation no; six months, then we ask again), readable by the server for what it
// personalises. Until she accepts analytics, parcours-track.js sends page and product events
// that identify nothing (a new random id per event, nothing stored); after, one first-party id.
// Tracking is off altogether when the page carries no web write key.

import { parcours } from "/static/parcours-track.js";
import { CHOICE_COOKIE, readChoice } from "./consent.js";
// The search box's suggestions are on every page (its header); the module also keeps the
// "recently viewed" list, only with personalisation consent.
import "./catalogue.js";

export { readChoice };
const CHOICE_MAX_AGE = 60 * 60 * 24 * 182;

// --- the service worker ------------------------------------------------------------------------

if ("serviceWorker" in navigator && (location.protocol === "https:" || location.hostname === "127.0.0.1" || location.hostname === "localhost")) {
  // After the page's own work, so installing the worker never competes with the first paint.
  const register = () => navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => null);
  if (document.readyState === "complete") register();
  else addEventListener("load", register, { once: true });
}

// --- the choice --------------------------------------------------------------------------------

function storeChoice(choice) {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  const value = `a${choice.analytics ? 1 : 0}.p${choice.personalisation ? 1 : 0}`;
  document.cookie = `${CHOICE_COOKIE}=${value}; Max-Age=${CHOICE_MAX_AGE}; Path=/; SameSite=Lax${secure}`;
}

// --- tracking ----------------------------------------------------------------------------------

const banner = document.getElementById("consent");
const writeKey = banner ? banner.dataset.writeKey : "";
let tracking = false;

function productOfPage() {
  for (const script of document.querySelectorAll('script[type="application/ld+json"]')) {
    try {
      const data = JSON.parse(script.textContent);
      if (data && data["@type"] === "Product") return data;
    } catch {
      /* not ours */
    }
  }
  return null;
}

function productViewed(data) {
  const slug = location.pathname.startsWith("/produits/") ? decodeURIComponent(location.pathname.split("/")[2] || "") : "";
  const offer = data.offers || {};
  const properties = {
    product_id: data.productID || slug,
    sku: data.sku,
    name: data.name,
    brand: data.brand && data.brand.name,
    variant: data.sku,
    price: offer.price ? Number(offer.price) : undefined,
    currency: offer.priceCurrency,
    url: `${location.origin}${location.pathname}`,
  };
  for (const key of Object.keys(properties)) if (properties[key] === undefined || properties[key] === "") delete properties[key];
  parcours.track("Product Viewed", properties);
}

function startTracking(choice) {
  if (!writeKey) return;
  try {
    parcours.init({ writeKey });
  } catch {
    return;
  }
  tracking = true;
  // The cookie is the truth: the tracker's own storage follows it on every page.
  parcours.consent({ analytics: Boolean(choice && choice.analytics) });
  parcours.page();
  const product = productOfPage();
  if (product) productViewed(product);
}

// --- the banner --------------------------------------------------------------------------------

function setupBanner() {
  if (!banner) return;
  const form = banner.querySelector("#consent-choices");
  const customise = banner.querySelector('[data-consent="customise"]');
  const status = banner.querySelector(".consent-status");
  const title = banner.querySelector("#consent-title");

  const fitPage = () => {
    // The banner never hides the end of the page: the body makes room for it.
    document.body.style.paddingBottom = banner.hidden ? "" : `${banner.offsetHeight}px`;
  };

  const open = ({ focus = false, expanded = false } = {}) => {
    const choice = readChoice();
    form.elements.analytics.checked = Boolean(choice && choice.analytics);
    form.elements.personalisation.checked = Boolean(choice && choice.personalisation);
    form.hidden = !expanded;
    customise.setAttribute("aria-expanded", String(expanded));
    status.textContent = "";
    banner.hidden = false;
    fitPage();
    if (focus) {
      title.tabIndex = -1;
      title.focus();
    }
  };

  const decide = (choice) => {
    storeChoice(choice);
    if (tracking) parcours.consent({ analytics: choice.analytics });
    banner.hidden = true;
    fitPage();
    // A signed-in shopper's choice becomes her consent record (and links this browser to her
    // profile when she accepts analytics); an anonymous visitor's stays in this browser.
    fetch("/consentement", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(choice),
      credentials: "same-origin",
      keepalive: true,
    }).catch(() => null);
    document.dispatchEvent(new CustomEvent("parcours:consent", { detail: choice }));
    const manage = document.querySelector("[data-consent-open]");
    if (manage && banner.contains(document.activeElement)) manage.focus();
  };

  banner.querySelector('[data-consent="accept"]').addEventListener("click", () => decide({ analytics: true, personalisation: true }));
  banner.querySelector('[data-consent="refuse"]').addEventListener("click", () => decide({ analytics: false, personalisation: false }));
  customise.addEventListener("click", () => {
    const expanded = form.hidden;
    form.hidden = !expanded;
    customise.setAttribute("aria-expanded", String(expanded));
    fitPage();
    if (expanded) form.elements.analytics.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    decide({ analytics: form.elements.analytics.checked, personalisation: form.elements.personalisation.checked });
  });
  banner.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && readChoice()) {
      banner.hidden = true;
      fitPage();
    }
  });
  for (const button of document.querySelectorAll("[data-consent-open]")) {
    button.addEventListener("click", () => open({ focus: true, expanded: true }));
  }
  addEventListener("resize", () => banner.hidden || fitPage(), { passive: true });
  if (!readChoice()) open();
}

setupBanner();
startTracking(readChoice());
