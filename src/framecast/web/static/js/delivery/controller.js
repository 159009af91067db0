// The delivery client: gets every event of one project to the page, whatever the network does.
//
// Every transport (delivery/transports.js) reads the same ledger log by `seq`. The client keeps one cursor;
// each (re)connection resumes from it and every event at or below it is dropped, so a reconnect, a transport
// switch or a second source never repeats or loses an event. Backoff, the cursor and the choice of transport
// live here; a transport only connects, parses and reports.
//
// Usage:
//   const client = new DeliveryClient({projectId: "prj_1", preference: "auto",
//     onEvent: (env, transport) => render(env), onTransport: (info) => chip(info)});
//   client.start();
//   // later: client.checkNow(), client.stop()

import { Cursor } from "./cursor.js";
import { makeLink } from "./link.js";
import { afterFailure } from "./policy.js";
import { checkNow, fetchSnapshot, resync } from "./snapshot.js";
import { transportChain, transportProse as prose, transportSpec } from "./transports.js";

/** @typedef {import("./envelope.js").Envelope} Envelope */
/** @typedef {import("./transports.js").Preference} Preference */
/** @typedef {import("./transports.js").Transport} Transport */
/** @typedef {import("./transports.js").TransportInfo} TransportInfo */
/** @typedef {import("./watchdog.js").Timers} Timers */

/**
 * @typedef {Object} DeliveryOptions
 * @property {string} projectId
 * @property {Preference} [preference] default "auto"
 * @property {number} [after] resume after this seq (0: the whole log)
 * @property {number} [connectTimeoutMs] a stream without `hello` after this long is abandoned (default 10 000)
 * @property {number} [stallTimeoutMs] a live stream silent this long (no ping either) is reconnected (default 45 000)
 * @property {number} [backoffBaseMs] first reconnect delay (default 500)
 * @property {number} [backoffCapMs] largest reconnect delay (default 15 000)
 * @property {() => number} [random] the backoff's jitter source, 0 <= x < 1 (default Math.random; see seededRandom)
 * @property {Timers} [timers] the clock for timeouts, backoff and polling (a seam for tests; default the global one)
 * @property {string} [baseUrl] origin of the API, default the page's own
 * @property {(url: string) => import("./sse.js").EventSourceLike} [createEventSource] seam for tests and polyfills
 * @property {(url: string) => WebSocket} [createWebSocket] seam for tests and polyfills
 * @property {typeof fetch} [fetch]
 * @property {(env: Envelope, transport: Transport | "manual") => void} [onEvent] each new persisted event, once, in order
 * @property {(info: TransportInfo) => void} [onTransport]
 * @property {(snapshot: Object<string, any>, source: string) => void} [onSnapshot] a fresh project snapshot
 * @property {(how: Transport | "manual") => void} [onDone] the terminal event was delivered
 * @property {Pick<Console, "log" | "warn" | "info" | "debug">} [log]
 */

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export class DeliveryClient {
  /** @param {DeliveryOptions} opts */
  constructor(opts) {
    this.projectId = opts.projectId;
    this.preference = opts.preference ?? "auto";
    this.cursor = new Cursor(opts.after ?? 0);
    this.chain = transportChain(this.preference);
    this.index = 0;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 45_000;
    this.backoff = { baseMs: opts.backoffBaseMs ?? 500, capMs: opts.backoffCapMs ?? 15_000, random: opts.random ?? Math.random };
    /** @type {Timers} */
    this.timers = opts.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (id) => clearTimeout(id) };
    this.baseUrl = opts.baseUrl ?? "";
    this.createEventSource = opts.createEventSource ?? ((url) => new EventSource(url));
    this.createWebSocket = opts.createWebSocket ?? ((url) => new WebSocket(url));
    this.fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.onEvent = opts.onEvent ?? (() => {});
    this.onTransport = opts.onTransport ?? (() => {});
    this.onSnapshot = opts.onSnapshot ?? (() => {});
    this.onDone = opts.onDone ?? (() => {});
    this.log = opts.log ?? console;
    this.stopped = true;
    this.terminal = false;
    this.failures = 0;
    /** @type {Set<Transport>} transports that reached `hello` at least once: a later failure is an outage */
    this.everLive = new Set();
    /** Bumped whenever the current connection attempt ends: callbacks of older attempts are ignored. */
    this.gen = 0;
    /** @type {(() => void) | null} */
    this.cleanup = null;
    /** @type {unknown} */
    this.retryTimer = null;
    this.switchReason = "";
    /** @type {TransportInfo} */
    this.info = { transport: null, state: "closed", reason: "" };
  }

  /** Highest seq handed to onEvent (or covered by a snapshot). */
  get lastSeq() {
    return this.cursor.lastSeq;
  }

  /** @returns {Transport} */
  get transport() {
    return this.chain[this.index];
  }

  /** Open the first transport of the chain. Safe to call again after stop(). */
  start() {
    if (!this.stopped || this.terminal) return;
    this.stopped = false;
    this.open();
  }

  /** Close everything; no callback fires afterwards. */
  stop() {
    this.stopped = true;
    this.gen++;
    this.teardown();
  }

  /**
   * Fetch the snapshot at once (the "Check for Results" button). Resolves with the snapshot; if it shows
   * the project finished, the client finishes too.
   * @returns {Promise<Object<string, any>>}
   */
  checkNow() {
    return checkNow(this);
  }

  /** @returns {Promise<Object<string, any>>} */
  fetchSnapshot() {
    return fetchSnapshot(this);
  }

  // --- internals -------------------------------------------------------------------------------------------

  teardown() {
    if (this.retryTimer) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const c = this.cleanup;
    this.cleanup = null;
    if (c) c();
  }

  /** @param {TransportInfo} info */
  report(info) {
    this.info = info;
    this.onTransport(info);
  }

  open() {
    if (this.stopped || this.terminal) return;
    this.teardown();
    const gen = ++this.gen;
    const t = this.transport;
    this.report({
      transport: t,
      state: "connecting",
      reason: this.switchReason || `Connecting with ${prose(t)}…`,
      failures: this.failures,
    });
    const spec = transportSpec(t);
    if (!spec) throw new Error(`framecast: no transport named ${t}`);
    const cleanup = spec.open(makeLink(this, gen, t));
    // A transport that failed at once has already moved the client on: its cleanup is not ours to keep.
    if (gen === this.gen) this.cleanup = cleanup;
    else cleanup();
  }

  /**
   * @param {number} gen
   * @param {Transport} transport
   * @param {Envelope} env
   */
  receive(gen, transport, env) {
    if (gen !== this.gen || this.terminal) return;
    const name = prose(transport);
    if (env.type === "hello") {
      this.failures = 0;
      this.everLive.add(transport);
      this.log.log(`🔌 ${name} connected for video project: ${this.projectId}`);
      this.report({
        transport,
        state: "live",
        reason: this.switchReason ? `${this.switchReason} — ${name} live` : "",
      });
      return;
    }
    if (env.type === "ping") return;
    if (env.type === "problem") {
      this.log.warn(`📡 ${name} stream reported a problem: ${env.data?.message ?? "unknown"}; it will resume from seq ${this.cursor.lastSeq}`);
      return;
    }
    if (env.type === "resync") {
      this.resync(gen, transport);
      return;
    }
    if (!this.cursor.accept(env)) return; // a duplicate (already delivered), or not a persisted event
    const say = transportSpec(transport)?.say ?? {};
    this.log.log(say.event ?? `📡 Video ${name} message:`, env);
    const d = env.data ?? {};
    if (env.type === "render_result" && d.object?.url) {
      this.log.log(`${say.completed ?? `🎬 ✅ Video completed via ${name}:`} ${d.object.url}`);
    }
    try {
      this.onEvent(env, transport);
    } catch (e) {
      this.log.warn("framecast: an event handler failed", e);
    }
    if (env.type === "project_status" && d.terminal) this.finish(transport);
  }

  /**
   * The server no longer has our cursor: take the snapshot (the full state) and continue after it.
   * @param {number} gen
   * @param {Transport} transport
   */
  resync(gen, transport) {
    return resync(this, gen, transport);
  }

  /** @param {Transport | "manual"} how */
  finish(how) {
    if (this.terminal) return;
    this.terminal = true;
    this.gen++;
    this.teardown();
    let reason = "All events received";
    if (how === "manual") reason = "Found by Check for Results";
    else if (this.switchReason) reason = `${this.switchReason} — switched to ${prose(this.transport)}; all events received`;
    this.report({ transport: how === "manual" ? this.info.transport : how, state: "closed", reason });
    this.onDone(how);
  }

  /**
   * A connection failed. "silent": no hello within the connect timeout; "hard": it failed before hello;
   * "dropped": it was live and went away.
   * @param {number} gen
   * @param {"silent" | "hard" | "dropped"} kind
   * @param {string} detail
   */
  failed(gen, kind, detail) {
    if (gen !== this.gen || this.stopped || this.terminal) return;
    this.gen++;
    this.teardown();
    const t = this.transport;
    const decision = afterFailure({
      kind,
      detail,
      chain: this.chain,
      index: this.index,
      everLive: this.everLive,
      failures: this.failures,
      connectTimeoutMs: this.connectTimeoutMs,
      lastSeq: this.cursor.lastSeq,
      backoff: this.backoff,
    });
    if (decision.action === "switch") {
      this.index = decision.index;
      this.switchReason = decision.switchReason;
      this.log.log(decision.log);
      this.failures = 0;
      this.open();
      return;
    }
    this.failures = decision.failures;
    this.log.warn(decision.log);
    this.report({ transport: t, state: "waiting", reason: decision.reason, retryInMs: decision.delayMs, failures: this.failures });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, decision.delayMs);
  }
}
