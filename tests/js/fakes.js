// Stand-ins for the browser's EventSource, WebSocket and fetch, passed through the delivery client's seams
// (createEventSource, createWebSocket, fetch). They record what the client did and let a test play the
// server's part.

import { DeliveryClient } from "../../src/framecast/web/static/js/delivery/controller.js";

export class FakeEventSource {
  /** @param {string} url */
  constructor(url) {
    this.url = url;
    /** @type {Map<string, ((ev: {data?: string}) => void)[]>} */
    this.listeners = new Map();
    /** @type {((ev: object) => void) | null} */
    this.onerror = null;
    this.closed = false;
  }

  /** @param {string} type @param {(ev: {data?: string}) => void} fn */
  addEventListener(type, fn) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }

  /** The server sends one event (named like the envelope's type, as the server names them). @param {object} env */
  send(env) {
    assert(!this.closed, "send on a closed EventSource");
    const type = /** @type {any} */ (env).type;
    for (const fn of this.listeners.get(type) ?? []) fn({ data: JSON.stringify(env) });
  }

  /** The connection fails (or the server ended the stream). */
  fail() {
    this.onerror?.({});
  }

  close() {
    this.closed = true;
  }
}

export class FakeWebSocket {
  /** @param {string} url */
  constructor(url) {
    this.url = url;
    /** @type {((ev: {data: unknown}) => void) | null} */
    this.onmessage = null;
    /** @type {((ev: {code: number}) => void) | null} */
    this.onclose = null;
    /** @type {number | null} */
    this.closedWith = null;
  }

  /** @param {object} env */
  send(env) {
    this.onmessage?.({ data: JSON.stringify(env) });
  }

  /** @param {number} code */
  drop(code) {
    this.onclose?.({ code });
  }

  /** @param {number} code */
  close(code) {
    this.closedWith = code;
  }
}

/**
 * A clock that moves only when told: `tick(ms)` runs, in order, every timer due by then (including timers
 * those timers set). The delivery client's `timers` seam takes it.
 */
export class FakeClock {
  constructor() {
    this.now = 0;
    this.nextId = 1;
    /** @type {Map<number, {at: number, fn: () => void}>} */
    this.pending = new Map();
    /** @type {(fn: () => void, ms: number) => number} */
    this.setTimeout = (fn, ms) => {
      const id = this.nextId++;
      this.pending.set(id, { at: this.now + Math.max(0, ms || 0), fn });
      return id;
    };
    /** @type {(id: unknown) => void} */
    this.clearTimeout = (id) => {
      this.pending.delete(/** @type {number} */ (id));
    };
  }

  /** @param {number} ms */
  tick(ms) {
    const end = this.now + ms;
    for (;;) {
      let due = null;
      for (const [id, t] of this.pending) if (t.at <= end && (!due || t.at < due[1].at)) due = [id, t];
      if (!due) break;
      this.pending.delete(/** @type {number} */ (due[0]));
      this.now = /** @type {{at: number}} */ (due[1]).at;
      /** @type {{fn: () => void}} */ (due[1]).fn();
    }
    this.now = end;
  }
}

/** @param {boolean} ok @param {string} message */
function assert(ok, message) {
  if (!ok) throw new Error(message);
}

/**
 * A fetch that answers from `routes`: each is tried in order; the first that returns a value answers.
 * A route returns {status, body} or throws (a network error).
 * @param {((url: string, init: any) => ({status: number, body?: any} | undefined))[]} routes
 */
export function fakeFetch(routes) {
  /** @type {{url: string, accept: string}[]} */
  const calls = [];
  /** @type {any} */
  const fetch = async (/** @type {string} */ url, /** @type {any} */ init = {}) => {
    calls.push({ url, accept: init.headers?.Accept ?? "" });
    for (const route of routes) {
      const answer = route(url, init);
      if (answer) {
        return { status: answer.status, ok: answer.status >= 200 && answer.status < 300, json: async () => answer.body };
      }
    }
    throw new TypeError("Failed to fetch");
  };
  return { fetch, calls };
}

/** @param {number} seq @param {string} [type] @param {object} [data] */
export const ev = (seq, type = "render_progress", data = {}) => ({ seq, type, project_id: "prj_1", data });
export const hello = (lastSeq = 0) => ({ type: "hello", project_id: "prj_1", data: { last_seq: lastSeq } });
export const done = (seq) => ev(seq, "project_status", { status: "completed", terminal: true });

/**
 * A delivery client wired to the fakes, with everything it reports recorded. Time is a FakeClock (advance it
 * with `h.clock.tick(ms)`), and the client is stopped when the test ends, so a failing assertion can never
 * leave a reconnect loop running.
 * @param {import("node:test").TestContext} t
 * @param {Partial<import("../../src/framecast/web/static/js/delivery/controller.js").DeliveryOptions>} [opts]
 * @param {Parameters<typeof fakeFetch>[0]} [routes] how the fake server answers fetches
 */
export function harness(t, opts = {}, routes = []) {
  const clock = new FakeClock();
  /** @type {FakeEventSource[]} */
  const sources = [];
  /** @type {FakeWebSocket[]} */
  const sockets = [];
  /** @type {{seq: number | undefined, type: string, via: string}[]} */
  const events = [];
  /** @type {any[]} */
  const transports = [];
  /** @type {string[]} */
  const logs = [];
  /** @type {string[]} */
  const finished = [];
  /** @type {{snap: any, source: string}[]} */
  const snapshots = [];
  const say = (/** @type {any[]} */ ...a) => logs.push(a.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(" "));
  const net = fakeFetch(routes);
  const client = new DeliveryClient({
    projectId: "prj_1",
    baseUrl: "http://fc.test",
    random: () => 0,
    timers: clock,
    createEventSource: (url) => {
      const es = new FakeEventSource(url);
      sources.push(es);
      return es;
    },
    createWebSocket: (url) => {
      const ws = new FakeWebSocket(url);
      sockets.push(/** @type {any} */ (ws));
      return /** @type {any} */ (ws);
    },
    fetch: net.fetch,
    onEvent: (env, via) => events.push({ seq: env.seq, type: env.type, via }),
    onTransport: (info) => transports.push(info),
    onSnapshot: (snap, source) => snapshots.push({ snap, source }),
    onDone: (how) => finished.push(how),
    log: { log: say, warn: say, info: say, debug: say },
    ...opts,
  });
  t.after(() => client.stop());
  return { client, clock, sources, sockets, events, transports, logs, finished, snapshots, calls: net.calls };
}

/** Let pending promise callbacks run (fetch answers, JSON bodies). */
export const settle = () => new Promise((resolve) => setImmediate(resolve));
