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
   * @param {{status?: number, code?: string, field?: string | null, errors?: FieldError[]}} [more]
   */
  constructor(message, { status = 0, code = "error", field = null, errors = [] } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.errors = errors;
  }
}

export const UNREACHABLE =
  "Can't reach the Framecast server. Check that it is running and that you are online, then try again.";

/**
 * @param {string} path
 * @param {RequestInit & {json?: unknown}} [init]
 * @returns {Promise<any>}
 */
export async function api(path, init = {}) {
  const headers = new Headers(init.headers ?? {});
  headers.set("Accept", "application/json");
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  /** @type {Response} */
  let res;
  try {
    res = await fetch(path, { ...init, headers, body, cache: "no-store" });
  } catch {
    throw new ApiError(UNREACHABLE, { code: "unreachable" });
  }
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
  throw problem(res.status, data);
}

/**
 * @param {number} status
 * @param {any} data
 * @returns {ApiError}
 */
function problem(status, data) {
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
  const field = typeof data?.field === "string" ? data.field : (errors[0]?.field ?? null);
  return new ApiError(message, { status, code: String(data?.code ?? "error"), field, errors });
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

/** A random key for Idempotency-Key; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function randomKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
