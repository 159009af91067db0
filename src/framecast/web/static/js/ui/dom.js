// The one way this page builds DOM: elements and text nodes only. Data never goes through innerHTML.

/**
 * h("button", {class: "btn", type: "button", onclick: fn}, "Label")
 * Attributes: `class`, `dataset` (object), `on<event>` (listener), booleans, anything else via setAttribute.
 * Children: nodes or strings (as text), null/false skipped.
 * @param {string} tag
 * @param {Object<string, any>} [attrs]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = String(v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, ...children);
  return el;
}

/**
 * @param {Element} el
 * @param {...(Node | string | number | null | undefined | false)} children
 */
export function append(el, ...children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    el.append(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

/** @param {Element} el @param {string} text */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** @param {HTMLElement} el @param {boolean} show */
export function show(el, show) {
  el.hidden = !show;
}

/** A media URL we serve ourselves (no javascript:, no foreign origin). @param {unknown} url */
export function safeUrl(url) {
  if (typeof url !== "string" || !url) return null;
  try {
    const u = new URL(url, location.href);
    if (u.origin !== location.origin && !["http:", "https:"].includes(u.protocol)) return null;
    if (!["http:", "https:", "blob:"].includes(u.protocol)) return null;
    return u.href;
  } catch {
    return null;
  }
}

let liveTimer = 0;
/**
 * Say something to screen readers through the page's polite live region.
 * @param {string} text
 */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  clearTimeout(liveTimer);
  region.textContent = "";
  liveTimer = window.setTimeout(() => (region.textContent = text), 50);
}
