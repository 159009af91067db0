// After a failed attempt: move down the chain, or keep the transport and back off.

import assert from "node:assert/strict";
import { test } from "node:test";

import { afterFailure } from "../../src/framecast/web/static/js/delivery/policy.js";

/** @param {Partial<import("../../src/framecast/web/static/js/delivery/policy.js").Failure>} f */
const failure = (f) =>
  afterFailure({
    kind: "hard",
    detail: "",
    chain: ["sse", "websocket", "polling"],
    index: 0,
    everLive: new Set(),
    failures: 0,
    connectTimeoutMs: 10_000,
    lastSeq: 0,
    backoff: { random: () => 0 },
    ...f,
  });

test("a silent stream is replaced by the next transport at once", () => {
  const d = failure({ kind: "silent", connectTimeoutMs: 2000 });
  assert.deepEqual(d, {
    action: "switch",
    index: 1,
    switchReason: "SSE silent for 2 s",
    log: "🔌 SSE not connected after 2s, trying WebSocket",
  });
});

test("a transport that never worked here and fails is moved past, saying why", () => {
  const d = failure({ kind: "hard", detail: "the stream closed" });
  assert.equal(d.action, "switch");
  assert.equal(d.action === "switch" && d.switchReason, "SSE could not connect (the stream closed)");
  assert.equal(d.log, "🔌 SSE failed to connect, trying WebSocket");
});

test("polling takes over with the product note's 📊 lines", () => {
  const hard = failure({ index: 1 });
  assert.equal(hard.action === "switch" && hard.index, 2);
  assert.equal(hard.log, "📊 WebSocket failed to connect, starting polling as backup");
  const silent = failure({ kind: "silent", chain: ["sse", "polling"], connectTimeoutMs: 1500 });
  assert.equal(silent.log, "📊 SSE not connected after 1.5s, starting polling as backup");
});

test("a transport that worked before keeps its place: the outage is the server's, so back off", () => {
  const d = failure({ kind: "hard", everLive: new Set(["sse"]), failures: 2, lastSeq: 12 });
  assert.equal(d.action, "retry");
  if (d.action !== "retry") return;
  assert.equal(d.delayMs, 1000); // attempt 2: a 2 s step, lowest jitter
  assert.equal(d.failures, 3);
  assert.equal(d.reason, "Server unreachable — retrying SSE in 1 s");
  assert.equal(d.log, "🔌 SSE failed (hard); retrying in 1000 ms from seq 12");
});

test("a live stream that drops is reconnected on the same transport, with backoff", () => {
  const d = failure({ kind: "dropped", detail: "no message or ping", backoff: { random: () => 0.5 } });
  assert.equal(d.action, "retry");
  assert.equal(d.action === "retry" && d.delayMs, 375);
  assert.equal(d.reason, "SSE connection lost — reconnecting in 0.4 s");
  assert.equal(d.log, "🔌 SSE connection lost (no message or ping); retrying in 375 ms from seq 0");
});

test("the first failure of a transport that cannot move on says it did not connect", () => {
  const d = failure({ chain: ["polling"], kind: "silent" });
  assert.equal(d.action, "retry");
  assert.equal(d.reason, "polling did not connect — retrying in 0.3 s");
});

test("the last transport of a chain is never left", () => {
  for (const kind of /** @type {const} */ (["silent", "hard", "dropped"])) {
    assert.equal(failure({ kind, chain: ["sse", "polling"], index: 1 }).action, "retry", kind);
  }
});

test("the delay grows with the failures and stays under the cap", () => {
  const delays = [0, 1, 2, 3, 4, 5, 6].map((failures) => {
    const d = failure({ kind: "dropped", failures, backoff: { random: () => 0.999 } });
    return d.action === "retry" ? d.delayMs : -1;
  });
  assert.deepEqual(delays, [500, 1000, 1999, 3998, 7996, 14993, 14993]);
});
