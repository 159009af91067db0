// Server-Sent Events: GET …/events?after=N with Accept: text/event-stream, live once `hello` arrives.

import { STREAM_TYPES, parseEnvelope } from "./envelope.js";
import { watchdog } from "./watchdog.js";

/**
 * The part of EventSource the page uses (the `createEventSource` seam: tests and polyfills pass their own).
 * @typedef {Object} EventSourceLike
 * @property {(type: string, fn: (ev: MessageEvent) => void) => void} addEventListener
 * @property {((ev: Event) => void) | null} onerror
 * @property {((ev: Event) => void) | null} [onopen]
 * @property {number} [readyState] 2 (CLOSED): the EventSource gave up for good
 * @property {() => void} close
 */

/**
 * @param {import("./transports.js").Link} link
 * @returns {() => void} closes the stream
 */
export function openSse(link) {
  const dog = watchdog({
    connectTimeoutMs: link.connectTimeoutMs,
    stallTimeoutMs: link.stallTimeoutMs,
    onSilent: () => link.failed("silent", ""),
    onStall: () => link.failed("dropped", "no message or ping"),
    timers: link.timers,
  });
  /** @type {EventSourceLike} */
  let es;
  try {
    es = link.createEventSource(link.url("events"));
  } catch (e) {
    dog.clear();
    link.failed("hard", String(/** @type {any} */ (e)?.message ?? e));
    return () => {};
  }
  /** @param {MessageEvent} ev */
  const handle = (ev) => {
    if (!link.current()) return;
    const env = parseEnvelope(ev.data);
    if (!env) return; // a connection error (no data), or not an envelope
    dog.activity();
    if (env.type === "hello") dog.hello();
    link.receive(env);
  };
  for (const type of STREAM_TYPES) es.addEventListener(type, handle);
  // EventSource reconnects by itself with Last-Event-ID; we close it and reconnect ourselves instead, so
  // backoff, the cursor and the switch to another transport stay in one place (the delivery client).
  es.onerror = () => {
    if (!link.current()) return;
    if (!dog.isLive() && es.readyState === 2) {
      // Closed for good before hello: a 204 (nothing left, the project is over) or a refusal. The snapshot says which.
      dog.clear();
      const refused = () => link.failed("hard", "the stream closed");
      link.fetchSnapshot().then((snap) => {
        if (!link.current()) return;
        link.snapshot(snap);
        if (!snap.terminal) return refused();
        link.cursor.advanceTo(snap.last_seq);
        link.finish();
      }, refused);
      return;
    }
    link.failed(dog.isLive() ? "dropped" : "hard", "the stream closed");
  };
  return () => {
    dog.clear();
    es.onerror = null;
    es.close();
  };
}
