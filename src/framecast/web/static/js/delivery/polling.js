// JSON polling: GET …/events?after=N with Accept: application/json, at the pace the server asks for
// (`next_poll_ms`). The last resort of every chain: plain request/response gets through any proxy.

import { seconds } from "./backoff.js";

/** Until the server's first answer says otherwise. */
const DEFAULT_EVERY_MS = 2000;

/**
 * @param {import("./transports.js").Link} link
 * @returns {() => void} stops polling
 */
export function openPolling(link) {
  let live = false;
  let everyMs = DEFAULT_EVERY_MS;
  let reportedEvery = 0;
  /** @type {unknown} */
  let timer = null;
  let aborter = new AbortController();
  link.log.log(`📊 Polling video project: ${link.projectId}`);
  const schedule = (/** @type {number} */ ms) => {
    timer = link.timers.setTimeout(poll, ms);
  };
  const poll = async () => {
    if (!link.current()) return;
    aborter = new AbortController();
    /** @type {any} */
    let body;
    try {
      const res = await link.fetch(link.url("events"), {
        headers: { Accept: "application/json" },
        cache: "no-store",
        signal: aborter.signal,
      });
      if (!link.current()) return;
      if (res.status === 404) {
        link.close("This project no longer exists.");
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = await res.json();
    } catch {
      if (!link.current()) return;
      const delay = link.nextRetryDelay();
      link.report({
        state: "waiting",
        reason: `Server unreachable — polling again in ${seconds(Math.round(delay / 100) * 100)} s`,
        retryInMs: delay,
        failures: link.failures(),
      });
      schedule(delay);
      return;
    }
    if (!link.current()) return;
    link.connected();
    everyMs = Number(body.next_poll_ms) > 0 ? Number(body.next_poll_ms) : everyMs;
    if (!live || link.state() !== "live" || everyMs !== reportedEvery) {
      live = true;
      reportedEvery = everyMs;
      const switched = link.switchReason();
      link.report({
        state: "live",
        reason: switched ? `${switched} — polling every ${seconds(everyMs)} s` : `Polling every ${seconds(everyMs)} s`,
      });
    }
    for (const env of body.events ?? []) {
      link.receive(env);
      if (!link.current() || link.terminal()) return;
    }
    if (link.cursor.awaitingResult()) {
      // The note's edge case: every task finished but the result is not in the log yet. Keep polling and
      // look at the snapshot too, which holds the result as soon as the ledger does.
      if (!lookingLogged.has(link.cursor)) link.log.log("📊 All tasks completed, looking for video data...");
      lookingLogged.add(link.cursor);
      try {
        const snap = await link.fetchSnapshot();
        if (!link.current()) return;
        if (snap.terminal && (snap.last_seq ?? 0) >= link.cursor.lastSeq) {
          link.snapshot(snap);
          if (snap.result?.url) link.log.log(`📊 ✅ Video generation completed: ${snap.result.url}`);
          link.cursor.advanceTo(snap.last_seq);
          link.finish();
          return;
        }
      } catch {
        // the next poll tries again
      }
    }
    schedule(body.terminal && !link.terminal() ? 0 : everyMs);
  };
  poll();
  return () => {
    if (timer) link.timers.clearTimeout(timer);
    aborter.abort();
  };
}

/** Cursors (one per delivery client) that already said "looking for video data": it is said once. */
const lookingLogged = new WeakSet();
