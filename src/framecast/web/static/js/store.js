// What the page remembers: settings (localStorage) and the active projects (URL and localStorage), so a
// reload re-attaches and a copied URL opens the same projects on another device.
//
// Active projects are a person's: when the server signs people in, each owner has their own entry
// (`framecast.activeProjects.<owner>`), so the next person at a shared browser never re-attaches them. Until
// the page knows who is signed in, and while nobody is, nothing is read from or written to storage.

import { DEFAULT_CONNECT_TIMEOUT_MS } from "./delivery/controller.js";
import { PREFERENCES } from "./delivery/transports.js";

const SETTINGS_KEY = "framecast.settings";
const ACTIVE_KEY = "framecast.activeProjects";

/**
 * @typedef {Object} Settings
 * @property {import("./delivery/transports.js").Preference} preference
 * @property {number} connectTimeoutMs
 */

/** @returns {Storage | null} */
function storage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // blocked by the browser's privacy settings
  }
}

/**
 * Saved settings, overridden by URL parameters `transport` and `connect_timeout_ms` (handy for support and
 * for tests; they are not saved).
 * @returns {Settings}
 */
export function loadSettings() {
  /** @type {Settings} */
  const s = { preference: "auto", connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS };
  try {
    const saved = JSON.parse(storage()?.getItem(SETTINGS_KEY) ?? "{}");
    if (PREFERENCES.includes(saved.preference)) s.preference = saved.preference;
    if (Number(saved.connectTimeoutMs) >= 500) s.connectTimeoutMs = Number(saved.connectTimeoutMs);
  } catch {
    // corrupt value: keep the defaults
  }
  const q = new URLSearchParams(location.search);
  const t = q.get("transport");
  if (t && PREFERENCES.includes(t)) s.preference = /** @type {any} */ (t);
  const ms = Number(q.get("connect_timeout_ms"));
  if (ms >= 100) s.connectTimeoutMs = ms;
  return s;
}

/** @param {Settings} s */
export function saveSettings(s) {
  try {
    storage()?.setItem(SETTINGS_KEY, JSON.stringify(s));
  } catch {
    // storage full or blocked: the setting lasts for this page only
  }
}

/**
 * The storage entry for a person's active projects; null when there is nobody to remember them for.
 * `none` mode keeps the entry it always had, so nothing changes for a single-owner server.
 * @param {import("./session.js").AuthMode | null} auth
 * @param {string | null} owner
 * @returns {string | null}
 */
export function activeStorageKey(auth, owner) {
  if (auth === "none") return ACTIVE_KEY;
  return auth && owner ? `${ACTIVE_KEY}.${owner}` : null;
}

/** @type {string | null} */
let activeKey = null;

/**
 * Whose active projects the page reads and writes from now on (see activeStorageKey).
 * @param {import("./session.js").AuthMode | null} auth
 * @param {string | null} owner
 */
export function useOwner(auth, owner) {
  activeKey = activeStorageKey(auth, owner);
}

/** @returns {string[]} */
function storedActive() {
  if (activeKey === null) return [];
  try {
    const v = JSON.parse(storage()?.getItem(activeKey) ?? "[]");
    return Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

const ID_RE = /^[A-Za-z0-9_-]{1,80}$/;

/** Active project ids: the URL's first, then this browser's. @returns {string[]} */
export function loadActive() {
  const q = new URLSearchParams(location.search);
  const fromUrl = (q.get("projects") ?? "").split(",").filter(Boolean);
  return [...new Set([...fromUrl, ...storedActive()])].filter((id) => ID_RE.test(id));
}

/** @param {string[]} ids */
function writeActive(ids) {
  try {
    if (activeKey !== null) storage()?.setItem(activeKey, JSON.stringify(ids));
  } catch {
    // ignore
  }
  const url = new URL(location.href);
  if (ids.length) url.searchParams.set("projects", ids.join(","));
  else url.searchParams.delete("projects");
  history.replaceState(history.state, "", url);
}

/** @param {string} id */
export function addActive(id) {
  const q = new URLSearchParams(location.search);
  const ids = [...new Set([id, ...(q.get("projects") ?? "").split(",").filter(Boolean), ...storedActive()])];
  writeActive(ids.filter((x) => ID_RE.test(x)));
}

/** @param {string} id */
export function removeActive(id) {
  const q = new URLSearchParams(location.search);
  const ids = [...new Set([...(q.get("projects") ?? "").split(",").filter(Boolean), ...storedActive()])];
  writeActive(ids.filter((x) => x !== id && ID_RE.test(x)));
}

/** Drop the project ids the URL carries (they were the previous person's); storage keeps each owner's own. */
export function forgetUrlActive() {
  const url = new URL(location.href);
  if (!url.searchParams.has("projects")) return;
  url.searchParams.delete("projects");
  history.replaceState(history.state, "", url);
}
