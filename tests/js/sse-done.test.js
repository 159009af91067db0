// An EventSource that the server closed for good before `hello` (204 No Content: the cursor is at or past
// the terminal event) means "done, read the snapshot" — not a transport that failed.

import assert from "node:assert/strict";
import { test } from "node:test";

import { harness, hello, settle } from "./fakes.js";

const SNAPSHOT = "http://fc.test/api/projects/prj_1";
const ended = () => (/** @type {string} */ url) => (url === SNAPSHOT ? { status: 200, body: { terminal: true, last_seq: 7, status: "completed" } } : undefined);
const running = () => (/** @type {string} */ url) => (url === SNAPSHOT ? { status: 200, body: { terminal: false, last_seq: 3, status: "running" } } : undefined);

test("closed for good before hello, and the snapshot is terminal: finished, nothing reopened", async (t) => {
  const h = harness(t, {}, [ended()]);
  h.client.start();
  const es = h.sources[0];
  es.readyState = 2; // what a browser's EventSource does on 204
  es.fail();
  await settle();
  assert.deepEqual(h.finished, ["sse"]);
  assert.equal(h.client.lastSeq, 7);
  assert.equal(h.snapshots.length, 1);
  h.clock.tick(60_000);
  assert.equal(h.sources.length, 1);
  assert.equal(h.sockets.length, 0);
});

test("closed for good before hello while the project runs: the usual fallback", async (t) => {
  const h = harness(t, {}, [running()]);
  h.client.start();
  h.sources[0].readyState = 2;
  h.sources[0].fail();
  await settle();
  assert.deepEqual(h.finished, []);
  assert.equal(h.sockets.length, 1, "SSE never worked here: on to WebSocket");
});

test("an error while the EventSource would reconnect (not CLOSED) fetches nothing", async (t) => {
  const h = harness(t, {}, [ended()]);
  h.client.start();
  h.sources[0].send(hello(0));
  h.sources[0].fail();
  await settle();
  assert.equal(h.calls.length, 0);
  assert.deepEqual(h.finished, []);
});
