// Calls to the Framecast API, with errors turned into sentences a person can act on.

/**
 * @typedef {Object} FieldError
 * @property {string} field
 * @property {string} message
 */

/** Raised for every failed API call; `message` is always fit to show. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, code?: string, field?: string | null, errors?: FieldError[], retryAfterS?: number | null}} [more]
   */
  constructor(message, { status = 0, code = "error", field = null, errors = [], retryAfterS = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.errors = errors;
    /** Seconds the server asked us to wait (Retry-After), or null. */
    this.retryAfterS = retryAfterS;
  }
}

export const UNREACHABLE =
  "Can't reach the Framecast server. Check that it is running and that you are online, then try again.";

// --- 401 during use -------------------------------------------------------------------------------------
//
// A session can end while the page is open (the key was revoked, the cookie expired, someone signed out in
// another tab). Every call that meets a 401 tells the page once, so it can ask for a key again. Answers to
// requests sent in an earlier sign-in (an "epoch") are ignored: a late 401 from before the person signed in
// again must not sign them out.

/** @type {Set<() => void>} */
const unauthenticatedListeners = new Set();
let epoch = 0;

/**
 * Call `fn` whenever an API call of the current sign-in answers 401.
 * @param {() => void} fn
 * @returns {() => void} stops listening
 */
export function onUnauthenticated(fn) {
  unauthenticatedListeners.add(fn);
  return () => unauthenticatedListeners.delete(fn);
}

/** A new sign-in starts: 401s of requests sent before now no longer count. */
export function newSessionEpoch() {
  epoch++;
}

/** @param {number} sentIn the epoch the request was sent in */
function unauthenticated(sentIn) {
  if (sentIn !== epoch) return;
  for (const fn of unauthenticatedListeners) fn();
}

/**
 * `fetch` for the delivery client (polling, snapshots): a 401 answer is reported like the API calls' ones.
 * @type {typeof fetch}
 */
export function watchedFetch(input, init) {
  const sentIn = epoch;
  return globalThis.fetch(input, init).then((res) => {
    if (res.status === 401) unauthenticated(sentIn);
    return res;
  });
}

/**
 * Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110); null when absent or unreadable.
 * @param {string | null | undefined} value
 * @param {number} [nowMs]
 * @returns {number | null}
 */
export function retryAfterSeconds(value, nowMs = Date.now()) {
  const v = (value ?? "").trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/**
 * "5 s", "3 min", "24 h": how long to wait, in words a person reads at a glance.
 * @param {number} s
 */
export function waitText(s) {
  const n = Math.max(1, Math.ceil(s));
  if (n < 120) return `${n} s`;
  if (n < 2 * 3600) return `${Math.ceil(n / 60)} min`;
  return `${Math.ceil(n / 3600)} h`;
}

/**
 * @param {string} path
 * @param {RequestInit & {json?: unknown}} [init]
 * @returns {Promise<any>}
 */
export async function api(path, init = {}) {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers ?? {});
  headers.set("Accept", "application/json");
  let body = rest.body;
  if (json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(json);
  }
  const sentIn = epoch;
  /** @type {Response} */
  let res;
  try {
    res = await fetch(path, { ...rest, headers, body, cache: "no-store" });
  } catch {
    throw new ApiError(UNREACHABLE, { code: "unreachable" });
  }
  if (res.status === 401) unauthenticated(sentIn);
  if (res.status === 204) return null;
  const text = await res.text();
  /** @type {any} */
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (res.ok) return data;
  throw problem(res.status, data, retryAfterSeconds(res.headers.get("Retry-After")));
}

/**
 * The error a failed call raises, its message fit to show: the server's own sentence, and for a refusal that
 * passes (429 a quota, 503 an outage) when to try again.
 * @param {number} status
 * @param {any} data the problem body (or null)
 * @param {number | null} [retryAfterS]
 * @returns {ApiError}
 */
export function problem(status, data, retryAfterS = null) {
  const errors = Array.isArray(data?.errors)
    ? data.errors
        .filter((/** @type {any} */ e) => e && typeof e.message === "string")
        .map((/** @type {any} */ e) => ({ field: String(e.field ?? ""), message: e.message }))
    : [];
  let message = typeof data?.message === "string" && data.message ? data.message : "";
  if (!message && typeof data?.detail === "string") message = data.detail;
  if (!message) {
    if (status === 404) message = "Not found: it may have been deleted.";
    else if (status === 409) message = "That is not possible in the project's current state.";
    else if (status === 413) message = "That is too large for the server.";
    else if (status === 429) message = "Too many requests — wait a moment and try again.";
    else if (status >= 500) message = `The server had a problem (HTTP ${status}). Try again in a moment.`;
    else message = `The request was refused (HTTP ${status}).`;
  }
  const code = String(data?.code ?? "error");
  const wait = retryAfterS != null ? waitText(retryAfterS) : "";
  if (status === 503) {
    // The cause (database, broker, storage) is for the operator's log; the person needs to know it passes.
    message = `The service is busy or recovering; try again in ${wait || "a few seconds"}.`;
  } else if (status === 429 && wait) {
    message = `${message.replace(/\s+$/, "")} Try again in ${wait}.`;
  }
  const field = typeof data?.field === "string" ? data.field : (errors[0]?.field ?? null);
  return new ApiError(message, { status, code, field, errors, retryAfterS });
}

/** @param {string} id */
export const projectPath = (id) => `/api/projects/${encodeURIComponent(id)}`;

/**
 * @param {Object<string, any>} body
 * @param {string} key Idempotency-Key: the same key and body give back the same project
 */
export function createProject(body, key) {
  return api("/api/projects", { method: "POST", json: body, headers: { "Idempotency-Key": key } });
}

/** @param {string} id */
export const getProject = (id) => api(projectPath(id));
/** @param {string} id */
export const cancelProject = (id) => api(`${projectPath(id)}/cancel`, { method: "POST" });
/** @param {string} id */
export const retryProject = (id) => api(`${projectPath(id)}/retry`, { method: "POST" });
/** @param {string} id */
export const deleteProject = (id) => api(projectPath(id), { method: "DELETE" });
/**
 * @param {string} id
 * @param {number} seq
 */
export const confirmDelivered = (id, seq) => api(`${projectPath(id)}/delivered`, { method: "POST", json: { seq } });
/**
 * @param {number} limit
 * @param {string | null} cursor
 */
export function listVideos(limit, cursor) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (cursor) q.set("cursor", cursor);
  return api(`/api/videos?${q}`);
}

/** The engines this server has, with what each accepts: `{default, engines}`. */
export const listEngines = () => api("/api/engines");

// --- the page's sign-in (FRAMECAST_AUTH=keys) --------------------------------------------------------------

/**
 * How the server signs people in and who is signed in.
 * @typedef {{auth: string, signed_in: boolean, owner: string | null, admin: boolean}} SessionInfo
 */

/** @returns {Promise<SessionInfo>} */
export const getSession = () => api("/api/session");
/** Trade a key for the HttpOnly session cookie. @param {string} key @returns {Promise<SessionInfo>} */
export const signIn = (key) => api("/api/session", { method: "POST", json: { key } });
/** Clear the session cookie. */
export const signOut = () => api("/api/session", { method: "DELETE" });

/** A random key for Idempotency-Key; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function randomKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
