// WebSocket: …/ws?after=N, one envelope per text frame, live once the `hello` frame arrives.

import { parseEnvelope } from "./envelope.js";
import { watchdog } from "./watchdog.js";

/**
 * The http(s) stream URL as a ws(s) URL; a relative URL is taken against the page's own origin.
 * @param {string} url
 * @param {string} [origin]
 */
export function toWebSocketUrl(url, origin = globalThis.location?.origin ?? "") {
  const absolute = /^https?:/.test(url) ? url : origin + url;
  return absolute.replace(/^http/, "ws");
}

/**
 * @param {import("./transports.js").Link} link
 * @returns {() => void} closes the socket
 */
export function openWebSocket(link) {
  const dog = watchdog({
    connectTimeoutMs: link.connectTimeoutMs,
    stallTimeoutMs: link.stallTimeoutMs,
    onSilent: () => link.failed("silent", ""),
    onStall: () => link.failed("dropped", "no message or ping"),
    timers: link.timers,
  });
  /** @type {WebSocket} */
  let ws;
  try {
    ws = link.createWebSocket(toWebSocketUrl(link.url("ws")));
  } catch (e) {
    dog.clear();
    link.failed("hard", String(/** @type {any} */ (e)?.message ?? e));
    return () => {};
  }
  ws.onmessage = (ev) => {
    if (!link.current()) return;
    const env = parseEnvelope(typeof ev.data === "string" ? ev.data : "");
    if (!env) return;
    dog.activity();
    if (env.type === "hello") dog.hello();
    link.receive(env);
  };
  ws.onclose = (ev) => {
    if (!link.current()) return;
    link.failed(dog.isLive() ? "dropped" : "hard", `closed with code ${ev.code}`);
  };
  return () => {
    dog.clear();
    ws.onclose = null;
    ws.onmessage = null;
    try {
      ws.close(1000);
    } catch {
      // already closed
    }
  };
}
