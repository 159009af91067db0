// The event protocol as the page sees it: one JSON envelope on every transport.

/**
 * One message of the event protocol (the same JSON on every transport).
 * @typedef {Object} Envelope
 * @property {number} [seq] per-project sequence number; absent on hello, ping, resync and problem
 * @property {string} type task_status | render_progress | file | render_result | project_status | hello | ping | resync | problem
 * @property {string} project_id
 * @property {string} [ts]
 * @property {Object<string, any>} data
 */

/** Event types written to the ledger: they carry a `seq` and are delivered once each, in order. */
export const PERSISTED = Object.freeze(["task_status", "render_progress", "file", "render_result", "project_status"]);

/**
 * Every event name a stream may use. "problem" is the server's in-band message when a stream breaks after
 * it started (an outage, a deleted project); the stream then ends and the page resumes from its last seq.
 * (It is not named "error": that is EventSource's own name for a connection error.)
 */
export const STREAM_TYPES = Object.freeze(["hello", "ping", "resync", "problem", "message", ...PERSISTED]);

/**
 * The envelope in a frame's text, or null for anything that is not one.
 * @param {unknown} raw
 * @returns {Envelope | null}
 */
export function parseEnvelope(raw) {
  if (typeof raw !== "string" || !raw) return null;
  try {
    const env = JSON.parse(raw);
    return env && typeof env === "object" && typeof env.type === "string" ? env : null;
  } catch {
    return null;
  }
}
