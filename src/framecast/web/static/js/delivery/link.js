// The delivery client as one connection attempt sees it (the Link of delivery/transports.js).

import { backoffDelay } from "./backoff.js";

/**
 * @param {import("./controller.js").DeliveryClient} client
 * @param {number} gen the attempt's generation: once client.gen moves past it, the link goes quiet
 * @param {import("./transports.js").Transport} t
 * @returns {import("./transports.js").Link}
 */
export function makeLink(client, gen, t) {
  const current = () => gen === client.gen;
  const base = `${client.baseUrl}/api/projects/${encodeURIComponent(client.projectId)}`;
  return {
    projectId: client.projectId,
    current,
    url: (path) => `${base}/${path}?after=${client.cursor.lastSeq}`,
    createEventSource: client.createEventSource,
    createWebSocket: client.createWebSocket,
    fetch: client.fetch,
    connectTimeoutMs: client.connectTimeoutMs,
    stallTimeoutMs: client.stallTimeoutMs,
    timers: client.timers,
    receive: (env) => client.receive(gen, t, env),
    failed: (kind, detail) => client.failed(gen, kind, detail),
    report: (info) => {
      if (current()) client.report({ transport: t, ...info });
    },
    state: () => client.info.state,
    switchReason: () => client.switchReason,
    nextRetryDelay: () => backoffDelay(client.failures++, client.backoff),
    failures: () => client.failures,
    connected: () => {
      client.failures = 0;
      client.everLive.add(t);
    },
    close: (reason) => {
      if (!current()) return;
      client.report({ transport: t, state: "closed", reason });
      client.stopped = true;
    },
    cursor: client.cursor,
    terminal: () => client.terminal,
    fetchSnapshot: () => client.fetchSnapshot(),
    snapshot: (snap) => client.onSnapshot(snap, t),
    finish: () => {
      if (current()) client.finish(t);
    },
    log: client.log,
  };
}
