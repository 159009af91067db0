// The delivery client: gets every event of one project to the page, whatever the network does.
//
// Transports: SSE (default), WebSocket and JSON polling, all reading the same ledger log by `seq`.
// The client keeps one cursor (`lastSeq`); every (re)connection resumes from it and every event at or below
// it is dropped, so a reconnect, a transport switch or a second source never repeats or loses an event.
//
// Usage:
//   const client = new DeliveryClient({projectId: "prj_1", preference: "auto",
//     onEvent: (env, transport) => render(env), onTransport: (info) => chip(info)});
//   client.start();
//   // later: client.checkNow(), client.stop()

/**
 * One message of the event protocol (the same JSON on every transport).
 * @typedef {Object} Envelope
 * @property {number} [seq] per-project sequence number; absent on hello, ping, resync and problem
 * @property {string} type task_status | render_progress | file | render_result | project_status | hello | ping | resync | problem
 * @property {string} project_id
 * @property {string} [ts]
 * @property {Object<string, any>} data
 */

/** @typedef {"auto" | "sse" | "websocket" | "polling"} Preference */
/** @typedef {"sse" | "websocket" | "polling"} Transport */

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
 * @typedef {Object} EventSourceLike
 * @property {(type: string, fn: (ev: MessageEvent) => void) => void} addEventListener
 * @property {((ev: Event) => void) | null} onerror
 * @property {((ev: Event) => void) | null} onopen
 * @property {() => void} close
 */

/**
 * @typedef {Object} DeliveryOptions
 * @property {string} projectId
 * @property {Preference} [preference] default "auto"
 * @property {number} [after] resume after this seq (0: the whole log)
 * @property {number} [connectTimeoutMs] a stream without `hello` after this long is abandoned (default 10 000)
 * @property {number} [stallTimeoutMs] a live stream silent this long (no ping either) is reconnected (default 45 000)
 * @property {number} [backoffBaseMs] first reconnect delay (default 500)
 * @property {number} [backoffCapMs] largest reconnect delay (default 15 000)
 * @property {string} [baseUrl] origin of the API, default the page's own
 * @property {(url: string) => EventSourceLike} [createEventSource] seam for tests and polyfills
 * @property {(url: string) => WebSocket} [createWebSocket] seam for tests and polyfills
 * @property {typeof fetch} [fetch]
 * @property {(env: Envelope, transport: Transport | "manual") => void} [onEvent] each new persisted event, once, in order
 * @property {(info: TransportInfo) => void} [onTransport]
 * @property {(snapshot: Object<string, any>, source: string) => void} [onSnapshot] a fresh project snapshot
 * @property {(how: Transport | "manual") => void} [onDone] the terminal event was delivered
 * @property {Pick<Console, "log" | "warn" | "info" | "debug">} [log]
 */

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const NAMES = { sse: "SSE", websocket: "WebSocket", polling: "polling" };
const PERSISTED = ["task_status", "render_progress", "file", "render_result", "project_status"];

/**
 * Delay before reconnect number `attempt` (0-based): capped doubling with "equal jitter", so a crowd of
 * clients that lost the server together does not come back in one burst.
 * @param {number} attempt
 * @param {{baseMs?: number, capMs?: number, random?: () => number}} [opts]
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, { baseMs = 500, capMs = 15_000, random = Math.random } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Transports to try, in order, for a preference. Polling is the last resort of every chain: it only needs
 * plain request/response HTTP, which gets through every proxy that the page itself got through.
 * @param {Preference} preference
 * @returns {Transport[]}
 */
export function transportChain(preference) {
  switch (preference) {
    case "sse":
      return ["sse", "polling"];
    case "websocket":
      return ["websocket", "polling"];
    case "polling":
      return ["polling"];
    default:
      return ["sse", "websocket", "polling"];
  }
}

/** @param {number} ms */
function seconds(ms) {
  const s = ms / 1000;
  return Number.isInteger(s) ? String(s) : s.toFixed(1);
}

export class DeliveryClient {
  /** @param {DeliveryOptions} opts */
  constructor(opts) {
    this.projectId = opts.projectId;
    this.preference = opts.preference ?? "auto";
    /** @type {number} highest seq handed to onEvent */
    this.lastSeq = opts.after ?? 0;
    this.chain = transportChain(this.preference);
    this.index = 0;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 45_000;
    this.backoff = { baseMs: opts.backoffBaseMs ?? 500, capMs: opts.backoffCapMs ?? 15_000 };
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
    this.gen = 0;
    /** @type {(() => void) | null} */
    this.cleanup = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.retryTimer = null;
    this.switchReason = "";
    /** @type {TransportInfo} */
    this.info = { transport: null, state: "closed", reason: "" };
    /** @type {Map<string, boolean>} task id -> terminal, to notice "tasks done but no result yet" */
    this.tasks = new Map();
    this.resultUrl = "";
    this.lookingLogged = false;
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
  async checkNow() {
    this.log.log(`🔍 Force checking video results for project: ${this.projectId}`);
    const snap = await this.fetchSnapshot();
    this.onSnapshot(snap, "manual");
    if (snap.terminal && !this.terminal) {
      if (snap.result?.url) this.log.log(`🔍 ✅ Video found manually: ${snap.result.url}`);
      this.lastSeq = Math.max(this.lastSeq, snap.last_seq ?? 0);
      this.finish("manual");
    } else if (snap.result?.url) {
      this.log.log(`🔍 ✅ Video found manually: ${snap.result.url}`);
    }
    return snap;
  }

  /** @returns {Promise<Object<string, any>>} */
  async fetchSnapshot() {
    const res = await this.fetch(`${this.baseUrl}/api/projects/${encodeURIComponent(this.projectId)}`, {
      headers: { Accept: "application/json" },
      cache: "no-store",
    });
    if (!res.ok) {
      const err = new Error(`snapshot answered HTTP ${res.status}`);
      /** @type {any} */ (err).status = res.status;
      throw err;
    }
    return res.json();
  }

  // --- internals -------------------------------------------------------------------------------------------

  teardown() {
    if (this.retryTimer) clearTimeout(this.retryTimer);
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
      reason: this.switchReason || `Connecting with ${NAMES[t]}…`,
      failures: this.failures,
    });
    if (t === "sse") this.openSse(gen);
    else if (t === "websocket") this.openWebSocket(gen);
    else this.openPolling(gen);
  }

  /** @param {string} path */
  streamUrl(path) {
    return `${this.baseUrl}/api/projects/${encodeURIComponent(this.projectId)}/${path}?after=${this.lastSeq}`;
  }

  /**
   * Arm the connect timeout (no hello yet) and the stall timeout (live, but silent for too long).
   * @param {number} gen
   * @returns {{hello: () => void, activity: () => void, clear: () => void, isLive: () => boolean}}
   */
  watchdog(gen) {
    let live = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    let timer = setTimeout(() => {
      if (!live) this.failed(gen, "silent", "");
    }, this.connectTimeoutMs);
    const restartStall = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => this.failed(gen, "dropped", "no message or ping"), this.stallTimeoutMs);
    };
    return {
      hello: () => {
        live = true;
        restartStall();
      },
      activity: () => {
        if (live) restartStall();
      },
      clear: () => {
        if (timer) clearTimeout(timer);
        timer = null;
      },
      isLive: () => live,
    };
  }

  /** @param {number} gen */
  openSse(gen) {
    const dog = this.watchdog(gen);
    /** @type {EventSourceLike} */
    let es;
    try {
      es = this.createEventSource(this.streamUrl("events"));
    } catch (e) {
      dog.clear();
      this.failed(gen, "hard", String(/** @type {any} */ (e)?.message ?? e));
      return;
    }
    /** @param {MessageEvent} ev */
    const handle = (ev) => {
      if (gen !== this.gen) return;
      const env = parseEnvelope(ev.data);
      if (!env) return;
      dog.activity();
      if (env.type === "hello") dog.hello();
      this.receive(gen, "sse", env);
    };
    // "problem" is the server's in-band message when the stream breaks after it started (an outage, a
    // deleted project); the stream then ends and onerror below reconnects from lastSeq. Connection errors
    // are EventSource's own "error" events, which carry no data.
    for (const type of ["hello", "ping", "resync", "problem", "message", ...PERSISTED]) es.addEventListener(type, handle);
    // EventSource reconnects by itself with Last-Event-ID; we close it and reconnect ourselves instead, so
    // backoff, the cursor and the switch to another transport stay in one place.
    es.onerror = () => {
      if (gen !== this.gen) return;
      this.failed(gen, dog.isLive() ? "dropped" : "hard", "the stream closed");
    };
    this.cleanup = () => {
      dog.clear();
      es.onerror = null;
      es.close();
    };
  }

  /** @param {number} gen */
  openWebSocket(gen) {
    const dog = this.watchdog(gen);
    let url = this.streamUrl("ws");
    const origin = this.baseUrl || globalThis.location?.origin || "";
    url = origin.replace(/^http/, "ws") + url.slice(this.baseUrl.length);
    /** @type {WebSocket} */
    let ws;
    try {
      ws = this.createWebSocket(url);
    } catch (e) {
      dog.clear();
      this.failed(gen, "hard", String(/** @type {any} */ (e)?.message ?? e));
      return;
    }
    ws.onmessage = (ev) => {
      if (gen !== this.gen) return;
      const env = parseEnvelope(typeof ev.data === "string" ? ev.data : "");
      if (!env) return;
      dog.activity();
      if (env.type === "hello") dog.hello();
      this.receive(gen, "websocket", env);
    };
    ws.onclose = (ev) => {
      if (gen !== this.gen) return;
      this.failed(gen, dog.isLive() ? "dropped" : "hard", `closed with code ${ev.code}`);
    };
    this.cleanup = () => {
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

  /** @param {number} gen */
  openPolling(gen) {
    let live = false;
    let everyMs = 2000;
    let reportedEvery = 0;
    /** @type {ReturnType<typeof setTimeout> | null} */
    let timer = null;
    let aborter = new AbortController();
    this.log.log(`📊 Polling video project: ${this.projectId}`);
    const schedule = (/** @type {number} */ ms) => {
      timer = setTimeout(poll, ms);
    };
    const poll = async () => {
      if (gen !== this.gen) return;
      aborter = new AbortController();
      /** @type {any} */
      let body;
      try {
        const res = await this.fetch(this.streamUrl("events"), {
          headers: { Accept: "application/json" },
          cache: "no-store",
          signal: aborter.signal,
        });
        if (gen !== this.gen) return;
        if (res.status === 404) {
          this.report({ transport: "polling", state: "closed", reason: "This project no longer exists." });
          this.stopped = true;
          return;
        }
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        body = await res.json();
      } catch (e) {
        if (gen !== this.gen) return;
        const delay = backoffDelay(this.failures++, this.backoff);
        this.report({
          transport: "polling",
          state: "waiting",
          reason: `Server unreachable — polling again in ${seconds(Math.round(delay / 100) * 100)} s`,
          retryInMs: delay,
          failures: this.failures,
        });
        schedule(delay);
        return;
      }
      if (gen !== this.gen) return;
      this.failures = 0;
      everyMs = Number(body.next_poll_ms) > 0 ? Number(body.next_poll_ms) : everyMs;
      if (!live || this.info.state !== "live" || everyMs !== reportedEvery) {
        live = true;
        reportedEvery = everyMs;
        this.everLive.add("polling");
        const how = `polling every ${seconds(everyMs)} s`;
        this.report({
          transport: "polling",
          state: "live",
          reason: this.switchReason ? `${this.switchReason} — ${how}` : `Polling every ${seconds(everyMs)} s`,
        });
      }
      for (const env of body.events ?? []) {
        this.receive(gen, "polling", env);
        if (gen !== this.gen || this.terminal) return;
      }
      if (this.allTasksDone() && !this.resultUrl) {
        // The note's edge case: every task finished but the result is not in the log yet. Keep polling and
        // look at the snapshot too, which holds the result as soon as the ledger does.
        if (!this.lookingLogged) this.log.log("📊 All tasks completed, looking for video data...");
        this.lookingLogged = true;
        try {
          const snap = await this.fetchSnapshot();
          if (gen !== this.gen) return;
          if (snap.terminal && (snap.last_seq ?? 0) >= this.lastSeq) {
            this.onSnapshot(snap, "polling");
            if (snap.result?.url) this.log.log(`📊 ✅ Video generation completed: ${snap.result.url}`);
            this.lastSeq = Math.max(this.lastSeq, snap.last_seq ?? 0);
            this.finish("polling");
            return;
          }
        } catch {
          // the next poll tries again
        }
      }
      schedule(body.terminal && !this.terminal ? 0 : everyMs);
    };
    poll();
    this.cleanup = () => {
      if (timer) clearTimeout(timer);
      aborter.abort();
    };
  }

  allTasksDone() {
    if (this.tasks.size === 0) return false;
    for (const done of this.tasks.values()) if (!done) return false;
    return true;
  }

  /**
   * @param {number} gen
   * @param {Transport} transport
   * @param {Envelope} env
   */
  receive(gen, transport, env) {
    if (gen !== this.gen || this.terminal) return;
    const name = NAMES[transport];
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
      this.log.warn(`📡 ${name} stream reported a problem: ${env.data?.message ?? "unknown"}; it will resume from seq ${this.lastSeq}`);
      return;
    }
    if (env.type === "resync") {
      this.resync(gen, transport);
      return;
    }
    if (typeof env.seq !== "number" || env.seq <= this.lastSeq) return; // a duplicate: already delivered
    this.lastSeq = env.seq;
    if (transport === "polling") this.log.log("📊 Video poll event:", env);
    else this.log.log(`📡 Video ${name} message:`, env);
    const d = env.data ?? {};
    if (env.type === "task_status" && d.task_id) this.tasks.set(d.task_id, Boolean(d.terminal));
    if (env.type === "render_result" && d.object?.url) {
      this.resultUrl = d.object.url;
      if (transport === "polling") this.log.log(`📊 ✅ Video generation completed: ${d.object.url}`);
      else this.log.log(`🎬 ✅ Video completed via ${name}: ${d.object.url}`);
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
  async resync(gen, transport) {
    this.log.info(`framecast: ${NAMES[transport]} asked for a resync; fetching the snapshot`);
    try {
      const snap = await this.fetchSnapshot();
      if (gen !== this.gen) return;
      this.onSnapshot(snap, "resync");
      this.lastSeq = Math.max(this.lastSeq, snap.last_seq ?? 0);
      if (snap.terminal) this.finish(transport);
      else this.open();
    } catch {
      if (gen === this.gen) this.failed(gen, "dropped", "resync failed");
    }
  }

  /** @param {Transport | "manual"} how */
  finish(how) {
    if (this.terminal) return;
    this.terminal = true;
    this.gen++;
    this.teardown();
    this.report({
      transport: how === "manual" ? this.info.transport : how,
      state: "closed",
      reason: how === "manual" ? "Found by Check for Results" : this.switchReason ? `${this.switchReason} — switched to ${NAMES[this.transport]}; all events received` : "All events received",
    });
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
    const name = NAMES[t];
    const canMove = this.index < this.chain.length - 1;
    // A transport that never worked here is moved past; one that worked before is probably fine and the
    // server or the network is down, so we keep it and back off.
    if (canMove && (kind === "silent" || (kind === "hard" && !this.everLive.has(t)))) {
      const next = this.chain[++this.index];
      const after = seconds(this.connectTimeoutMs);
      this.switchReason =
        kind === "silent" ? `${name} silent for ${after} s` : `${name} could not connect${detail ? ` (${detail})` : ""}`;
      if (next === "polling") {
        if (kind === "silent") this.log.log(`📊 ${name} not connected after ${after}s, starting polling as backup`);
        else this.log.log(`📊 ${name} failed to connect, starting polling as backup`);
      } else {
        this.log.log(`🔌 ${name} ${kind === "silent" ? `not connected after ${after}s` : "failed to connect"}, trying ${NAMES[next]}`);
      }
      this.failures = 0;
      this.open();
      return;
    }
    const delay = backoffDelay(this.failures++, this.backoff);
    const inS = seconds(Math.round(delay / 100) * 100);
    const reason =
      kind === "dropped"
        ? `${name} connection lost — reconnecting in ${inS} s`
        : this.failures > 1
          ? `Server unreachable — retrying ${name} in ${inS} s`
          : `${name} did not connect — retrying in ${inS} s`;
    this.log.warn(`🔌 ${name} ${kind === "dropped" ? "connection lost" : "failed"} (${detail || kind}); retrying in ${delay} ms from seq ${this.lastSeq}`);
    this.report({ transport: t, state: "waiting", reason, retryInMs: delay, failures: this.failures });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }
}

/**
 * @param {unknown} raw
 * @returns {Envelope | null}
 */
function parseEnvelope(raw) {
  if (typeof raw !== "string" || !raw) return null;
  try {
    const env = JSON.parse(raw);
    return env && typeof env === "object" && typeof env.type === "string" ? env : null;
  } catch {
    return null;
  }
}
