// One connection per project across tabs.
//
// Browsers allow six HTTP/1.1 connections per host; seven tabs each holding an SSE stream would starve the
// seventh (and every fetch after it). So the tabs of one browser elect a leader per project: the leader runs
// the delivery client and re-broadcasts what it receives on a BroadcastChannel; the others only listen.
//
// Election uses the Web Locks API where it exists (secure contexts: https and localhost): the lock is freed
// by the browser when the leader's tab closes or crashes, and the next waiting tab takes over at once.
// On plain http from another host there are no locks, so a heartbeat election over the same channel is
// used instead. Without BroadcastChannel every tab simply leads.

/**
 * @typedef {Object} Coordination
 * @property {(msg: any) => void} post   send to the other tabs (the leader broadcasts events)
 * @property {() => void} release        stop leading or following; frees the lock
 * @property {() => boolean} isLeader
 */

/**
 * @typedef {Object} CoordinateHandlers
 * @property {() => void} onLead        this tab now holds the connection for the project
 * @property {() => void} [onFollow]    another tab holds it; messages will arrive through onMessage
 * @property {(msg: any) => void} onMessage
 */

const TAB_ID = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
const HEARTBEAT_MS = 1000;
const LEADER_GONE_MS = 3500;

/**
 * @param {string} projectId
 * @param {CoordinateHandlers} handlers
 * @returns {Coordination}
 */
export function coordinate(projectId, handlers) {
  if (typeof BroadcastChannel === "undefined") {
    handlers.onLead();
    return { post: () => {}, release: () => {}, isLeader: () => true };
  }
  const channel = new BroadcastChannel(`framecast:project:${projectId}`);
  const locks = globalThis.navigator?.locks;
  return locks ? withLocks(projectId, channel, locks, handlers) : withHeartbeats(channel, handlers);
}

/**
 * @param {string} projectId
 * @param {BroadcastChannel} channel
 * @param {LockManager} locks
 * @param {CoordinateHandlers} handlers
 * @returns {Coordination}
 */
function withLocks(projectId, channel, locks, handlers) {
  let leader = false;
  let released = false;
  /** @type {() => void} */
  let unlock = () => {};
  const held = new Promise((resolve) => (unlock = () => resolve(undefined)));
  channel.onmessage = (ev) => {
    if (!leader && !released) handlers.onMessage(ev.data);
  };
  const name = `framecast:project:${projectId}`;
  const lead = async () => {
    if (released) return;
    leader = true;
    handlers.onLead();
    await held;
  };
  locks
    .request(name, { ifAvailable: true }, (lock) => {
      if (lock) return lead();
      handlers.onFollow?.();
      // Queue for the lock: granted when the current leader's tab goes away.
      locks.request(name, lead).catch(() => {});
      return undefined;
    })
    .catch(() => {
      // Locks refused (e.g. an opaque origin): fall back to leading alone.
      if (!leader && !released) lead();
    });
  return {
    post: (msg) => {
      if (leader && !released) channel.postMessage(msg);
    },
    release: () => {
      released = true;
      leader = false;
      unlock();
      channel.close();
    },
    isLeader: () => leader,
  };
}

/**
 * @param {BroadcastChannel} channel
 * @param {CoordinateHandlers} handlers
 * @returns {Coordination}
 */
function withHeartbeats(channel, handlers) {
  let leader = false;
  let released = false;
  let lastBeat = 0;
  let claiming = false;
  /** @type {ReturnType<typeof setInterval> | null} */
  let timer = null;

  const becomeLeader = () => {
    leader = true;
    handlers.onLead();
    if (timer) clearInterval(timer);
    timer = setInterval(() => channel.postMessage({ kind: "beat", tab: TAB_ID }), HEARTBEAT_MS);
    channel.postMessage({ kind: "beat", tab: TAB_ID });
  };
  const claim = () => {
    if (claiming || leader || released) return;
    claiming = true;
    let lost = false;
    const onClaim = (/** @type {MessageEvent} */ ev) => {
      const m = ev.data;
      if (m?.kind === "beat" || (m?.kind === "claim" && m.tab < TAB_ID)) lost = true;
    };
    channel.addEventListener("message", onClaim);
    channel.postMessage({ kind: "claim", tab: TAB_ID });
    setTimeout(() => {
      channel.removeEventListener("message", onClaim);
      claiming = false;
      if (released) return;
      if (lost) {
        lastBeat = Date.now();
        handlers.onFollow?.();
      } else becomeLeader();
    }, 300);
  };
  channel.addEventListener("message", (ev) => {
    const m = ev.data;
    if (released) return;
    if (m?.kind === "beat") lastBeat = Date.now();
    else if (m?.kind === "resign" && !leader) setTimeout(claim, Math.random() * 100);
    else if (m?.kind === "claim" && leader) channel.postMessage({ kind: "beat", tab: TAB_ID });
    else if (m?.kind === "msg" && !leader) handlers.onMessage(m.body);
  });
  const watch = setInterval(() => {
    if (!leader && !released && !claiming && Date.now() - lastBeat > LEADER_GONE_MS) claim();
  }, HEARTBEAT_MS);
  const resign = () => {
    if (leader) channel.postMessage({ kind: "resign", tab: TAB_ID });
  };
  globalThis.addEventListener?.("pagehide", resign);
  claim();
  return {
    post: (msg) => {
      if (leader && !released) channel.postMessage({ kind: "msg", body: msg });
    },
    release: () => {
      resign();
      released = true;
      leader = false;
      if (timer) clearInterval(timer);
      clearInterval(watch);
      globalThis.removeEventListener?.("pagehide", resign);
      channel.close();
    },
    isLeader: () => leader,
  };
}
