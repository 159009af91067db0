// The project snapshot (GET /api/projects/{id}): the full state as of its `last_seq`. The client reads it for
// "Check for Results", for a resync, and when polling meets the note's "tasks done, no result yet" case.

import { transportProse } from "./transports.js";

/**
 * @param {{fetch: typeof fetch, baseUrl: string, projectId: string}} where
 * @returns {Promise<Object<string, any>>}
 * @throws {Error & {status: number}} when the server answers with an error status
 */
export async function fetchSnapshot({ fetch, baseUrl, projectId }) {
  const res = await fetch(`${baseUrl}/api/projects/${encodeURIComponent(projectId)}`, {
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

/**
 * "Check for Results": read the snapshot now and say what it holds; a terminal one finishes the client.
 * @param {import("./controller.js").DeliveryClient} client
 * @returns {Promise<Object<string, any>>}
 */
export async function checkNow(client) {
  client.log.log(`🔍 Force checking video results for project: ${client.projectId}`);
  const snap = await client.fetchSnapshot();
  client.onSnapshot(snap, "manual");
  if (snap.result?.url) client.log.log(`🔍 ✅ Video found manually: ${snap.result.url}`);
  if (snap.terminal && !client.terminal) {
    client.cursor.advanceTo(snap.last_seq);
    client.finish("manual");
  }
  return snap;
}

/**
 * The server no longer has the client's cursor (`resync`): take the snapshot, the full state, and continue
 * after its `last_seq` (or finish, if it is terminal).
 * @param {import("./controller.js").DeliveryClient} client
 * @param {number} gen the attempt that received the resync
 * @param {import("./transports.js").Transport} transport
 */
export async function resync(client, gen, transport) {
  client.log.info(`framecast: ${transportProse(transport)} asked for a resync; fetching the snapshot`);
  try {
    const snap = await client.fetchSnapshot();
    if (gen !== client.gen) return;
    client.onSnapshot(snap, "resync");
    client.cursor.advanceTo(snap.last_seq);
    if (snap.terminal) client.finish(transport);
    else client.open();
  } catch {
    if (gen === client.gen) client.failed(gen, "dropped", "resync failed");
  }
}
