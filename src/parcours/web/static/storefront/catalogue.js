// Catalogue pages, progressively enhanced: everything works without this module (forms and
// links); with it, the search box suggests as she types, filters apply as she ticks them, and
// the products she viewed are listed on the home page. That list stays in her browser
// (localStorage), never sent anywhere, and is kept only with her personalisation consent:
// refusing it (now or later) empties it.

import { readChoice } from "./consent.js";

const lang = document.documentElement.lang === "en" ? "en" : "fr";
const TEXT = {
  fr: { count: (n) => `${n} suggestion${n > 1 ? "s" : ""}. Flèches haut et bas pour choisir.`, none: "Aucune suggestion.", category: "Rayon" },
  en: { count: (n) => `${n} suggestion${n > 1 ? "s" : ""}. Use up and down arrows to choose.`, none: "No suggestions.", category: "Department" },
}[lang];

// --- recently viewed ----------------------------------------------------------------------
const RECENT_KEY = "parcours.recent.v1";
const RECENT_MAX = 12;

function readRecent() {
  try {
    const items = JSON.parse(localStorage.getItem(RECENT_KEY) || "[]");
    return Array.isArray(items) ? items.filter((i) => i && typeof i.url === "string" && i.url.startsWith("/produits/")) : [];
  } catch {
    return [];
  }
}

function writeRecent(items) {
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(items.slice(0, RECENT_MAX)));
  } catch {
    // Private mode or full storage: the list is a convenience, not worth an error.
  }
}

function mayRemember() {
  return readChoice()?.personalisation === true;
}

document.addEventListener("parcours:consent", (event) => {
  if (!event.detail?.personalisation) {
    try {
      localStorage.removeItem(RECENT_KEY);
    } catch {
      // Storage disabled: there is nothing kept to remove.
    }
  }
});

const viewed = document.querySelector("[data-recent-item]");
if (viewed && mayRemember()) {
  try {
    const item = JSON.parse(viewed.dataset.recentItem);
    writeRecent([item, ...readRecent().filter((i) => i.slug !== item.slug)]);
  } catch {
    // A malformed attribute: nothing to remember.
  }
}

function tile(item) {
  const li = document.createElement("li");
  li.className = "tile";
  const a = document.createElement("a");
  a.href = item.url;
  const img = document.createElement("img");
  img.src = item.image || "";
  img.alt = "";
  img.width = 400;
  img.height = 400;
  img.loading = "lazy";
  const info = document.createElement("div");
  info.className = "info";
  for (const [cls, text] of [["name", item.name], ["muted", item.brand], ["price", item.price]]) {
    if (!text) continue;
    const div = document.createElement("div");
    div.className = cls;
    div.textContent = text;
    info.append(div);
  }
  a.append(img, info);
  li.append(a);
  return li;
}

const recentSection = document.querySelector("[data-recent-list]");
if (recentSection) {
  const grid = recentSection.querySelector("[data-recent-grid]");
  const empty = recentSection.querySelector("[data-recent-empty]");
  const clear = recentSection.querySelector("[data-recent-clear]");
  const show = () => {
    const items = readRecent();
    grid.replaceChildren(...items.map(tile));
    grid.hidden = items.length === 0;
    empty.hidden = items.length > 0;
    clear.hidden = items.length === 0;
  };
  clear.addEventListener("click", () => {
    writeRecent([]);
    show();
    empty.setAttribute("tabindex", "-1");
    empty.focus();
  });
  show();
}

// --- search suggestions: an ARIA 1.2 combobox over the header's search box ------------------
function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

const input = document.querySelector("form[role=search] input[name=q]");
if (input && "fetch" in window) {
  const form = input.form;
  form.classList.add("has-suggestions");
  const list = document.createElement("ul");
  list.id = `${input.id}-suggestions`;
  list.setAttribute("role", "listbox");
  // Its own name: sharing the input's label would make "the search box" ambiguous.
  list.setAttribute("aria-label", "Suggestions");
  list.className = "suggestions";
  list.hidden = true;
  const status = document.createElement("div");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  form.append(list, status);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);

  let options = [];
  let active = -1;
  let pending;
  const cache = new Map();

  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (index) => {
    active = index;
    options.forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  };
  const render = (suggestions) => {
    options = suggestions.map((s, i) => {
      const li = document.createElement("li");
      li.id = `${list.id}-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.url = s.url;
      li.className = `suggestion ${s.kind}`;
      const label = document.createElement("span");
      label.textContent = s.label;
      li.append(label);
      const detail = s.kind === "category" ? TEXT.category : s.detail;
      if (detail) {
        const small = document.createElement("small");
        small.textContent = detail;
        li.append(small);
      }
      // mousedown, not click: it fires before the input loses focus and closes the list.
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        window.location.assign(s.url);
      });
      return li;
    });
    list.replaceChildren(...options);
    active = -1;
    if (options.length) {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      status.textContent = TEXT.count(options.length);
    } else {
      close();
      status.textContent = input.value.trim().length >= 2 ? TEXT.none : "";
    }
  };
  const ask = debounce(async () => {
    const query = input.value.trim();
    if (query.length < 2) return render([]);
    if (cache.has(query)) return render(cache.get(query));
    pending?.abort();
    pending = new AbortController();
    try {
      const response = await fetch(`/recherche/suggestions?q=${encodeURIComponent(query)}`, { signal: pending.signal });
      if (!response.ok) return;
      const body = await response.json();
      cache.set(query, body.suggestions);
      if (input.value.trim() === query) render(body.suggestions);
    } catch {
      // Aborted by a newer keystroke, or offline: the plain search still works.
    }
  }, 150);

  input.addEventListener("input", ask);
  input.addEventListener("keydown", (event) => {
    const open = !list.hidden && options.length > 0;
    if (event.key === "ArrowDown") {
      if (!open) { ask(); return; }
      event.preventDefault();
      highlight(active + 1 >= options.length ? 0 : active + 1);
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      highlight(active <= 0 ? options.length - 1 : active - 1);
    } else if (event.key === "Enter" && open && active >= 0) {
      event.preventDefault();
      window.location.assign(options[active].dataset.url);
    } else if (event.key === "Escape") {
      if (open) {
        event.preventDefault();
        close();
      } else if (input.value) {
        input.value = "";
      }
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
  input.addEventListener("focus", () => { if (options.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); } });
}

// --- category filters: apply as she ticks, without losing her place -----------------------
const wide = window.matchMedia("(min-width: 900px)");

function enhanceFilters(root) {
  const form = root.querySelector("form[data-filters]");
  if (!form) return;
  const panel = form.querySelector("[data-filter-panel]");
  if (panel && wide.matches) panel.open = true;
  form.addEventListener("change", (event) => {
    // Prices are typed: wait for the button or Enter, not each keystroke's change.
    if (event.target.name === "prix_min" || event.target.name === "prix_max") return;
    apply(form, event.target.id || event.target.name + ":" + event.target.value);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply(form, null);
  });
}

async function apply(form, focusKey) {
  const params = new URLSearchParams(new FormData(form));
  for (const [key, value] of [...params]) if (!value) params.delete(key);
  if (params.get("tri") === "nouveautes") params.delete("tri");
  const url = `${form.action}${params.size ? `?${params}` : ""}`;
  const container = document.querySelector("[data-browse]");
  container.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(url, { headers: { Accept: "text/html" } });
    const html = await response.text();
    const next = new DOMParser().parseFromString(html, "text/html").querySelector("[data-browse]");
    if (!next) throw new Error("no list in the answer");
    const wasOpen = form.querySelector("[data-filter-panel]")?.open;
    container.replaceWith(next);
    history.pushState({}, "", url);
    const panel = next.querySelector("[data-filter-panel]");
    if (panel && wasOpen !== undefined) panel.open = wasOpen;
    enhanceFilters(next);
    if (focusKey) {
      const [name, value] = focusKey.split(":");
      const target = document.getElementById(focusKey) ||
        next.querySelector(`input[name="${CSS.escape(name)}"][value="${CSS.escape(value || "")}"]`);
      target?.focus();
    }
  } catch {
    window.location.assign(url); // fall back to a plain page load
  }
}

const browse = document.querySelector("[data-browse]");
if (browse) {
  enhanceFilters(browse);
  window.addEventListener("popstate", () => window.location.reload());
}
