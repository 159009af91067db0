// Keeping a card up to date: attach from the snapshot, then lead the delivery (this tab connects) or follow
// it (another tab connects and broadcasts), and confirm delivery once a completed result is shown.

import { ApiError, UNREACHABLE, confirmDelivered, getProject, watchedFetch } from "../../api.js";
import { DeliveryClient } from "../../delivery/controller.js";
import { removeActive } from "../../store.js";
import { coordinate } from "../../tabs.js";

/** @typedef {import("./view.js").ProjectView} ProjectView */

/** @param {ProjectView} view */
export async function attach(view) {
  if (view.destroyed) return;
  try {
    const snap = await getProject(view.id);
    view.applySnapshot(snap);
    view.attachTries = 0;
    view.hideNotice();
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      view.gone();
      return;
    }
    view.attachTries++;
    const delay = Math.min(15000, 1000 * 2 ** view.attachTries);
    view.showNotice(`${e instanceof ApiError ? e.message : UNREACHABLE} Trying again in ${Math.round(delay / 1000)} s.`);
    view.setChip({ transport: null, state: "waiting", reason: "Server unreachable" });
    setTimeout(() => view.attach(), delay);
    return;
  }
  if (view.state.terminal) view.onTerminal("snapshot");
  else view.join();
}

/** @param {ProjectView} view */
export function join(view) {
  if (view.coord || view.destroyed) return;
  view.coord = coordinate(view.id, {
    onLead: () => lead(view),
    onFollow: () => {
      view.role = "follower";
      view.setChip({ transport: null, state: "live", reason: "Shared with another tab" });
      view.refresh(); // catch up on anything between our snapshot and the leader's next message
    },
    onMessage: (msg) => fromLeader(view, msg),
  });
}

/** This tab holds the project's connection: run the delivery client and broadcast what it hands on. @param {ProjectView} view */
function lead(view) {
  if (view.destroyed || view.state.terminal) {
    view.coord?.release();
    view.coord = null;
    return;
  }
  view.role = "leader";
  const s = view.opts.settings();
  view.client = new DeliveryClient({
    projectId: view.id,
    preference: s.preference,
    connectTimeoutMs: s.connectTimeoutMs,
    after: view.state.lastSeq,
    fetch: watchedFetch, // a 401 while polling means the session ended: the page asks for a key again
    onEvent: (env) => {
      view.coord?.post({ kind: "event", env });
      view.applyEvent(env);
    },
    onTransport: (info) => {
      view.coord?.post({ kind: "transport", info });
      view.setChip(info);
    },
    onSnapshot: (snap) => {
      view.coord?.post({ kind: "snapshot", snap });
      view.applySnapshot(snap);
    },
    onDone: (how) => view.onTerminal(how),
  });
  view.client.start();
}

/**
 * A broadcast from the leader tab.
 * @param {ProjectView} view
 * @param {any} msg
 */
function fromLeader(view, msg) {
  if (view.role === "leader" || view.destroyed) return;
  if (msg?.kind === "event") {
    const env = msg.env;
    if (typeof env?.seq !== "number" || env.seq <= view.state.lastSeq) return;
    if (env.seq > view.state.lastSeq + 1) {
      // We joined between two events: the snapshot fills the hole.
      view.refresh();
      return;
    }
    view.applyEvent(env);
    if (env.type === "project_status" && env.data?.terminal) view.onTerminal("tab");
  } else if (msg?.kind === "transport") {
    const info = msg.info;
    view.setChip({ ...info, reason: info.reason ? `${info.reason} (in another tab)` : "In another tab" });
  } else if (msg?.kind === "snapshot") {
    view.applySnapshot(msg.snap);
    if (view.state.terminal) view.onTerminal("tab");
  }
}

/** @param {ProjectView} view */
export async function refresh(view) {
  try {
    view.applySnapshot(await getProject(view.id));
    if (view.state.terminal) view.onTerminal("snapshot");
  } catch {
    // the next event or the next check will try again
  }
}

/**
 * @param {ProjectView} view
 * @param {string} how
 */
export async function onTerminal(view, how) {
  view.render();
  if (view.coord) {
    // Hold the lock a moment longer: the other tabs must get the terminal event (just broadcast) before
    // one of them is granted the lock and would open a stream of its own to find out.
    const coord = view.coord;
    view.coord = null;
    setTimeout(() => coord.release(), 2000);
  }
  view.client = null;
  const s = view.state;
  if (s.status === "completed") {
    // The leader (or a tab on its own) confirms; followers saw the same result through it.
    if (how !== "tab" && !view.deliveredSent && s.result?.url) {
      view.deliveredSent = true;
      try {
        await confirmDelivered(view.id, s.lastSeq);
        s.deliveredAt = new Date().toISOString();
        removeActive(view.id);
      } catch {
        view.deliveredSent = false; // a later reload tries again; the gallery shows the badge meanwhile
      }
    }
    if (s.deliveredAt) removeActive(view.id);
    view.opts.onCompleted(view);
  }
}

/** @param {ProjectView} view */
export function reconnect(view) {
  if (view.role === "leader" && view.client && !view.state.terminal) {
    view.client.stop();
    view.client = null;
    lead(view);
  }
}
