// The page's transports, in one table. Adding a transport is one entry here (and its module): the user
// preference, the settings dialog, the connection chip, the console story and the fallback order all read it.

import { openPolling } from "./polling.js";
import { openSse } from "./sse.js";
import { openWebSocket } from "./websocket.js";

/** @typedef {import("./envelope.js").Envelope} Envelope */
/** @typedef {import("./cursor.js").Cursor} Cursor */

/** A transport's `name` from TRANSPORTS ("sse", "websocket", "polling"). @typedef {string} Transport */
/** "auto" or a transport's name. @typedef {string} Preference */

/**
 * What the connection chip shows.
 * @typedef {Object} TransportInfo
 * @property {Transport | null} transport the transport in use (or being tried)
 * @property {"connecting" | "live" | "waiting" | "closed"} state
 * @property {string} reason a sentence a person understands: why the transport last changed
 * @property {number} [retryInMs] when state is "waiting", the delay before the next attempt
 * @property {number} [failures] consecutive failed attempts
 */

/**
 * What a transport gets from the delivery client for one connection attempt. Everything is bound to that
 * attempt: once the client has moved on (stopped, switched, reconnecting), `current()` is false and the
 * callbacks do nothing, so a late message from an old connection can never count.
 * @typedef {Object} Link
 * @property {string} projectId
 * @property {() => boolean} current this attempt is still the client's
 * @property {(path: string) => string} url `…/api/projects/{id}/{path}?after={lastSeq}`, the cursor as it is now
 * @property {(url: string) => import("./sse.js").EventSourceLike} createEventSource
 * @property {(url: string) => WebSocket} createWebSocket
 * @property {typeof fetch} fetch
 * @property {number} connectTimeoutMs
 * @property {number} stallTimeoutMs
 * @property {import("./watchdog.js").Timers} timers the client's clock: every timeout goes through it
 * @property {(env: Envelope) => void} receive hand on one envelope (hello, ping, resync, error or persisted)
 * @property {(kind: "silent" | "hard" | "dropped", detail: string) => void} failed the connection failed
 * @property {(info: Omit<TransportInfo, "transport">) => void} report tell the chip (this transport's name is added)
 * @property {() => TransportInfo["state"]} state what the chip shows now
 * @property {() => string} switchReason why the client moved to this transport ("" when it started here)
 * @property {() => number} nextRetryDelay count one more failure and return the backoff delay for it
 * @property {() => number} failures consecutive failures so far
 * @property {() => void} connected this transport works here: reset the failure count
 * @property {(reason: string) => void} close the project is gone: stop without retrying
 * @property {Cursor} cursor
 * @property {() => boolean} terminal
 * @property {() => Promise<Object<string, any>>} fetchSnapshot
 * @property {(snap: Object<string, any>) => void} snapshot hand on a snapshot this transport fetched
 * @property {() => void} finish the terminal event has been delivered (or the snapshot shows it)
 * @property {Pick<Console, "log" | "warn" | "info" | "debug">} log
 */

/**
 * @typedef {Object} TransportSpec
 * @property {Transport} name used in the preference, the saved settings, `?transport=` and `data-transport`
 * @property {string} label on the chip and in the settings dialog
 * @property {string} prose inside a sentence ("Connecting with polling…")
 * @property {string} description in the settings dialog, before the fallback ("; polling if it cannot connect")
 * @property {boolean} [lastResort] appended to every chain: it must work wherever the page itself loaded
 * @property {(link: Link) => () => void} open start one connection attempt; returns what closes it
 * @property {{event?: string, completed?: string, takeOver?: (from: string, silentForS: string | null) => string}} [say]
 *   the console lines of the product note where this transport tells them differently (default: 📡 and 🎬)
 */

/**
 * In the order `auto` tries them. Polling is the last resort of every chain: it only needs plain
 * request/response HTTP, which gets through every proxy that the page itself got through.
 * @type {readonly TransportSpec[]}
 */
export const TRANSPORTS = Object.freeze([
  {
    name: "sse",
    label: "SSE",
    prose: "SSE",
    description: "Server-Sent Events",
    open: openSse,
  },
  {
    name: "websocket",
    label: "WebSocket",
    prose: "WebSocket",
    description: "For networks that buffer SSE",
    open: openWebSocket,
  },
  {
    name: "polling",
    label: "Polling",
    prose: "polling",
    description: "Asks every second or two. Works through any proxy",
    lastResort: true,
    open: openPolling,
    say: {
      event: "📊 Video poll event:",
      completed: "📊 ✅ Video generation completed:",
      takeOver: (from, silentForS) =>
        `📊 ${from} ${silentForS ? `not connected after ${silentForS}s` : "failed to connect"}, starting polling as backup`,
    },
  },
]);

/** Every value the connection preference may take. */
export const PREFERENCES = Object.freeze(["auto", ...TRANSPORTS.map((t) => t.name)]);

/**
 * @param {string | null | undefined} name
 * @returns {TransportSpec | undefined}
 */
export function transportSpec(name) {
  return TRANSPORTS.find((t) => t.name === name);
}

/**
 * How a transport reads inside a sentence ("SSE", "polling").
 * @param {string | null | undefined} name
 */
export function transportProse(name) {
  return transportSpec(name)?.prose ?? String(name);
}

/**
 * The chip's name for a transport ("" for none or an unknown one).
 * @param {string | null | undefined} name
 */
export function transportLabel(name) {
  return transportSpec(name)?.label ?? "";
}

/**
 * Transports to try, in order, for a preference: `auto` tries every one in table order; a chosen one is
 * followed by the last resorts. An unknown preference counts as `auto`.
 * @param {Preference} preference
 * @returns {Transport[]}
 */
export function transportChain(preference) {
  const chosen = transportSpec(preference);
  if (!chosen) return TRANSPORTS.map((t) => t.name);
  return [chosen.name, ...TRANSPORTS.filter((t) => t.lastResort && t !== chosen).map((t) => t.name)];
}

/**
 * "SSE, then WebSocket, then polling": how a chain reads in a sentence.
 * @param {Transport[]} chain
 */
export function chainProse(chain) {
  return chain.map(transportProse).join(", then ");
}

/**
 * The connection preference's choices as the settings dialog offers them: "Automatic", then one per
 * transport, each saying what it falls back to.
 * @returns {{value: Preference, title: string, text: string}[]}
 */
export function preferenceOptions() {
  return [
    { value: "auto", title: "Automatic", text: `${chainProse(transportChain("auto"))} if a connection stays silent or fails.` },
    ...TRANSPORTS.map((t) => {
      const fallbacks = transportChain(t.name).slice(1);
      const then = fallbacks.length ? `; ${chainProse(fallbacks)} if it cannot connect` : "";
      return { value: t.name, title: t.label, text: `${t.description}${then}.` };
    }),
  ];
}
