// What the delivery client does when a connection attempt fails: move on to the next transport of the chain,
// or keep this one and back off. Pure: the client applies the decision (tests check it without a network).

import { backoffDelay, seconds } from "./backoff.js";
import { transportProse as prose, transportSpec } from "./transports.js";

/** @typedef {import("./transports.js").Transport} Transport */

/**
 * @typedef {Object} Failure
 * @property {"silent" | "hard" | "dropped"} kind "silent": no hello within the connect timeout; "hard": it
 *   failed before hello; "dropped": it was live and went away
 * @property {string} detail
 * @property {Transport[]} chain
 * @property {number} index the failed transport's place in the chain
 * @property {ReadonlySet<Transport>} everLive transports that reached `hello` on this page before
 * @property {number} failures consecutive failures before this one
 * @property {number} connectTimeoutMs
 * @property {number} lastSeq where the next attempt resumes
 * @property {{baseMs?: number, capMs?: number, random?: () => number}} backoff
 */

/**
 * @typedef {{action: "switch", index: number, switchReason: string, log: string}
 *   | {action: "retry", delayMs: number, failures: number, reason: string, log: string}} Decision
 *   switch: open chain[index] now, with failures reset; retry: the same transport after delayMs
 */

/**
 * A transport that never worked here is moved past; one that worked before is probably fine and the server
 * or the network is down, so it is kept and the client backs off. The last transport of a chain is never left.
 * @param {Failure} f
 * @returns {Decision}
 */
export function afterFailure(f) {
  const name = prose(f.chain[f.index]);
  const canMove = f.index < f.chain.length - 1;
  if (canMove && (f.kind === "silent" || (f.kind === "hard" && !f.everLive.has(f.chain[f.index])))) {
    const next = f.chain[f.index + 1];
    const silentFor = f.kind === "silent" ? seconds(f.connectTimeoutMs) : null;
    const takeOver = transportSpec(next)?.say?.takeOver;
    return {
      action: "switch",
      index: f.index + 1,
      switchReason: silentFor ? `${name} silent for ${silentFor} s` : `${name} could not connect${f.detail ? ` (${f.detail})` : ""}`,
      log: takeOver
        ? takeOver(name, silentFor)
        : `🔌 ${name} ${silentFor ? `not connected after ${silentFor}s` : "failed to connect"}, trying ${prose(next)}`,
    };
  }
  const delayMs = backoffDelay(f.failures, f.backoff);
  const failures = f.failures + 1;
  const inS = seconds(Math.round(delayMs / 100) * 100);
  let reason = `${name} did not connect — retrying in ${inS} s`;
  if (f.kind === "dropped") reason = `${name} connection lost — reconnecting in ${inS} s`;
  else if (failures > 1) reason = `Server unreachable — retrying ${name} in ${inS} s`;
  return {
    action: "retry",
    delayMs,
    failures,
    reason,
    log: `🔌 ${name} ${f.kind === "dropped" ? "connection lost" : "failed"} (${f.detail || f.kind}); retrying in ${delayMs} ms from seq ${f.lastSeq}`,
  };
}
