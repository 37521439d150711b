// Her consent choice as this browser keeps it: a first-party cookie `parcours_consent`
// ("a1.p0": audience measurement yes, personalisation no). The banner (app.js) writes it; every
// module that remembers or sends anything reads it here first.

export const CHOICE_COOKIE = "parcours_consent";

/** The stored choice, or null when she has not answered yet. */
export function readChoice() {
  const found = document.cookie.split("; ").find((part) => part.startsWith(`${CHOICE_COOKIE}=`));
  if (!found) return null;
  const match = /^a([01])\.p([01])$/.exec(found.slice(CHOICE_COOKIE.length + 1));
  return match ? { analytics: match[1] === "1", personalisation: match[2] === "1" } : null;
}
