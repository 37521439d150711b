// Web push opt-in for the storefront's pages ("Prévenez-moi quand ma commande est prête").
//
//   import { subscribeToPush, pushState, unsubscribeFromPush } from "/static/storefront/push.js";
//   button.addEventListener("click", async () => {
//     const result = await subscribeToPush();   // call it from a click: browsers require a gesture
//     // result: "subscribed" | "denied" | "unsupported" | "unavailable" | "failed"
//   });
//
// It asks the browser's permission, subscribes with the shop's VAPID key (GET /push/cle) through
// the service worker (/sw.js), and posts the subscription to POST /push/abonnement, which ties it
// to the shopper's session cookie (and her profile when she is signed in). From then on, the shop
// tells her there when an order of hers is ready for pickup.

function keyBytes(base64url) {
  const padded = `${base64url}${"=".repeat((4 - (base64url.length % 4)) % 4)}`.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function supported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

/** "subscribed", "default" (not asked yet), "denied", or "unsupported". */
export async function pushState() {
  if (!supported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = registration && (await registration.pushManager.getSubscription());
  return subscription ? "subscribed" : "default";
}

/** Ask permission and subscribe this browser; resolves to what happened (never throws). */
export async function subscribeToPush() {
  if (!supported()) return "unsupported";
  try {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") return "denied";
    const answer = await fetch("/push/cle", { credentials: "same-origin" });
    if (!answer.ok) return "unavailable";
    const { public_key: publicKey } = await answer.json();
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    const registration = await navigator.serviceWorker.ready;
    let subscription = await registration.pushManager.getSubscription();
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(publicKey),
      });
    }
    const saved = await fetch("/push/abonnement", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(subscription.toJSON()),
    });
    return saved.ok ? "subscribed" : "failed";
  } catch {
    return "failed";
  }
}

/** Stop notifications on this browser. */
export async function unsubscribeFromPush() {
  if (!supported()) return false;
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = registration && (await registration.pushManager.getSubscription());
  if (!subscription) return false;
  await fetch("/push/abonnement", {
    method: "DELETE",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    // The whole subscription: its keys.auth proves this browser holds it (the endpoint does not).
    body: JSON.stringify(subscription.toJSON()),
  }).catch(() => null);
  return subscription.unsubscribe();
}
