// The delivery client end to end over fake transports: fallback order, resume cursor, de-duplication,
// backoff, terminal handling and the console story, all without a DOM or a network.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { done, ev, harness, hello, settle } from "./fakes.js";

const BASE = "http://fc.test/api/projects/prj_1";

/** A route for JSON polling of the events log. @param {(after: number) => any} answer */
const pollRoute = (answer) => (/** @type {string} */ url, /** @type {any} */ init) => {
  const m = url.match(/\/events\?after=(\d+)$/);
  if (!m || init.headers?.Accept !== "application/json") return undefined;
  return answer(Number(m[1]));
};
/** @param {any} body */
const snapshotRoute = (body) => (/** @type {string} */ url) => (url === BASE ? { status: 200, body } : undefined);

describe("fallback order", () => {
  test("auto: SSE fails, then WebSocket fails, then polling delivers everything", async (t) => {
    const h = harness(t, {}, [
      pollRoute((after) => ({ status: 200, body: { events: [ev(1), ev(2), done(3)].filter((e) => e.seq > after), next_poll_ms: 1000, terminal: true } })),
    ]);
    h.client.start();
    assert.equal(h.sources.length, 1);
    assert.equal(h.sources[0].url, `${BASE}/events?after=0`);
    h.sources[0].fail();
    assert.ok(h.sources[0].closed, "the failed EventSource is closed, not left to reconnect by itself");
    assert.equal(h.sockets.length, 1);
    assert.equal(h.sockets[0].url, "ws://fc.test/api/projects/prj_1/ws?after=0");
    h.sockets[0].drop(1006);
    await settle();
    assert.deepEqual(h.calls, [{ url: `${BASE}/events?after=0`, accept: "application/json" }]);
    assert.deepEqual(h.events.map((e) => [e.seq, e.via]), [[1, "polling"], [2, "polling"], [3, "polling"]]);
    assert.deepEqual(h.finished, ["polling"]);
    assert.deepEqual(
      h.transports.map((t) => `${t.transport} ${t.state}: ${t.reason}`),
      [
        "sse connecting: Connecting with SSE…",
        "websocket connecting: SSE could not connect (the stream closed)",
        "polling connecting: WebSocket could not connect (closed with code 1006)",
        "polling live: WebSocket could not connect (closed with code 1006) — polling every 1 s",
        "polling closed: WebSocket could not connect (closed with code 1006) — switched to polling; all events received",
      ],
    );
    assert.ok(h.logs.includes("🔌 SSE failed to connect, trying WebSocket"), h.logs.join("\n"));
    assert.ok(h.logs.includes("📊 WebSocket failed to connect, starting polling as backup"), h.logs.join("\n"));
    assert.ok(h.logs.includes("📊 Polling video project: prj_1"));
    assert.ok(h.logs.some((l) => l.startsWith("📊 Video poll event:")));
  });

  test("a stream silent past the connect timeout is replaced, not one millisecond before; a live one that stalls is reconnected", (t) => {
    const h = harness(t, { connectTimeoutMs: 2000 });
    h.client.start();
    h.clock.tick(1999);
    assert.equal(h.sockets.length, 0);
    h.clock.tick(1);
    assert.ok(h.sources[0].closed);
    assert.equal(h.sockets.length, 1);
    assert.equal(h.transports.at(-1).reason, "SSE silent for 2 s");
    assert.ok(h.logs.includes("🔌 SSE not connected after 2s, trying WebSocket"));
    h.sockets[0].send(hello());
    assert.equal(h.transports.at(-1).state, "live");
    assert.equal(h.transports.at(-1).reason, "SSE silent for 2 s — WebSocket live");
    h.clock.tick(44_999);
    assert.equal(h.sockets.length, 1, "a live WebSocket is not replaced");
    h.clock.tick(1); // 45 s without a message or a ping: the stream stalled
    assert.equal(h.transports.at(-1).reason, "WebSocket connection lost — reconnecting in 0.3 s");
    h.clock.tick(250);
    assert.equal(h.sockets.length, 2, "a stalled stream that worked is reconnected on the same transport");
    assert.equal(h.sources.length, 1);
  });

  test("pings keep a quiet live stream open: only silence counts as a stall", (t) => {
    const h = harness(t);
    h.client.start();
    h.sources[0].send(hello());
    for (let i = 0; i < 12; i++) {
      h.clock.tick(15_000);
      h.sources[0].send({ type: "ping", project_id: "prj_1", data: { last_seq: 0 } });
    }
    assert.equal(h.sources.length, 1);
    assert.equal(h.sources[0].closed, false);
    assert.equal(h.transports.at(-1).state, "live");
  });

  test("the websocket preference never opens SSE and falls back to polling", async (t) => {
    const h = harness(t, { preference: "websocket" }, [pollRoute(() => ({ status: 200, body: { events: [], next_poll_ms: 1000 } }))]);
    h.client.start();
    assert.equal(h.sources.length, 0);
    h.sockets[0].drop(1006);
    await settle();
    assert.equal(h.sources.length, 0);
    assert.equal(h.calls.length, 1);
    assert.equal(h.transports.at(-1).transport, "polling");
  });
});

describe("resume and de-duplication", () => {
  test("a dropped live stream reconnects the same transport after the backoff, from the last seq", (t) => {
    const h = harness(t);
    h.client.start();
    const first = h.sources[0];
    first.send(hello());
    for (const seq of [1, 2, 3]) first.send(ev(seq));
    first.fail();
    assert.deepEqual(
      { state: h.transports.at(-1).state, retryInMs: h.transports.at(-1).retryInMs, reason: h.transports.at(-1).reason },
      { state: "waiting", retryInMs: 250, reason: "SSE connection lost — reconnecting in 0.3 s" },
    );
    assert.ok(h.logs.includes("🔌 SSE connection lost (the stream closed); retrying in 250 ms from seq 3"));
    h.clock.tick(249);
    assert.equal(h.sources.length, 1);
    h.clock.tick(1);
    assert.equal(h.sources.length, 2, "reconnected over SSE again: it worked here before");
    assert.equal(h.sources[1].url, `${BASE}/events?after=3`);
    // The server replays from its own idea of the cursor: the repeats must not reach the page again.
    const second = h.sources[1];
    second.send(hello(3));
    for (const seq of [2, 3, 4, 4, 5]) second.send(ev(seq));
    assert.deepEqual(h.events.map((e) => e.seq), [1, 2, 3, 4, 5]);
    assert.equal(h.client.lastSeq, 5);
  });

  test("the backoff grows while the server stays away, and hello resets it", (t) => {
    const h = harness(t);
    h.client.start();
    h.sources[0].send(hello());
    h.sources[0].fail();
    const waits = [];
    for (let i = 1; i <= 4; i++) {
      waits.push(h.transports.at(-1).retryInMs);
      h.clock.tick(h.transports.at(-1).retryInMs);
      h.sources[i].fail(); // the server is still down: fails before hello
    }
    assert.deepEqual(waits, [250, 500, 1000, 2000]);
    assert.equal(h.transports.at(-1).reason, "Server unreachable — retrying SSE in 4 s");
    assert.equal(h.sockets.length, 0, "a transport that worked before is kept through an outage");
    h.clock.tick(4000);
    h.sources[5].send(hello());
    h.sources[5].fail();
    assert.equal(h.transports.at(-1).retryInMs, 250);
  });

  test("a cursor moved by a snapshot is where the next connection resumes", (t) => {
    const h = harness(t, { after: 4 });
    h.client.start();
    assert.equal(h.sources[0].url, `${BASE}/events?after=4`);
    h.sources[0].send(hello(4));
    h.client.cursor.advanceTo(9); // what the project card does with a fresher snapshot
    h.sources[0].send(ev(5));
    h.sources[0].send(ev(10));
    assert.deepEqual(h.events.map((e) => e.seq), [10]);
    h.sources[0].fail();
    h.clock.tick(250);
    assert.equal(h.sources[1].url, `${BASE}/events?after=10`);
  });

  test("resync: the snapshot replaces the log and the stream resumes after its last_seq", async (t) => {
    const h = harness(t, {}, [snapshotRoute({ id: "prj_1", last_seq: 40, terminal: false })]);
    h.client.start();
    h.sources[0].send(hello());
    h.sources[0].send({ type: "resync", project_id: "prj_1", data: { last_seq: 40 } });
    await settle();
    assert.deepEqual(h.snapshots.map((s) => s.source), ["resync"]);
    assert.ok(h.sources[0].closed);
    assert.equal(h.sources[1].url, `${BASE}/events?after=40`);
  });
});

describe("the end of a run", () => {
  test("the terminal event finishes the client once, closes the stream and opens nothing more", (t) => {
    const h = harness(t);
    h.client.start();
    const es = h.sources[0];
    es.send(hello());
    es.send(ev(1, "render_result", { object: { url: "/media/v.mp4" } }));
    es.send(done(2));
    assert.deepEqual(h.finished, ["sse"]);
    assert.ok(es.closed);
    assert.deepEqual(h.transports.at(-1), { transport: "sse", state: "closed", reason: "All events received" });
    assert.ok(h.logs.includes("🔌 SSE connected for video project: prj_1"));
    assert.ok(h.logs.some((l) => l.startsWith("📡 Video SSE message:")));
    assert.ok(h.logs.includes("🎬 ✅ Video completed via SSE: /media/v.mp4"));
    es.fail();
    h.clock.tick(120_000);
    h.client.start();
    assert.equal(h.sources.length, 1);
    assert.equal(h.sockets.length, 0);
    assert.deepEqual(h.finished, ["sse"]);
  });

  test("over WebSocket the story says WebSocket", (t) => {
    const h = harness(t, { preference: "websocket" });
    h.client.start();
    h.sockets[0].send(hello());
    h.sockets[0].send(ev(1, "render_result", { object: { url: "/media/w.mp4" } }));
    h.sockets[0].send(done(2));
    assert.ok(h.logs.includes("🔌 WebSocket connected for video project: prj_1"));
    assert.ok(h.logs.includes("🎬 ✅ Video completed via WebSocket: /media/w.mp4"));
    assert.equal(h.sockets[0].closedWith, 1000);
    assert.deepEqual(h.finished, ["websocket"]);
  });

  test("Check for Results finds a finished project and stops the stream", async (t) => {
    const h = harness(t, {}, [snapshotRoute({ id: "prj_1", last_seq: 8, terminal: true, status: "completed", result: { url: "/media/c.mp4" } })]);
    h.client.start();
    const snap = await h.client.checkNow();
    assert.equal(snap.last_seq, 8);
    assert.deepEqual(h.finished, ["manual"]);
    assert.ok(h.sources[0].closed);
    assert.equal(h.client.lastSeq, 8);
    assert.ok(h.logs.includes("🔍 Force checking video results for project: prj_1"));
    assert.ok(h.logs.includes("🔍 ✅ Video found manually: /media/c.mp4"));
    assert.equal(h.transports.at(-1).reason, "Found by Check for Results");
  });

  test("stop() silences everything: no callback afterwards", (t) => {
    const h = harness(t);
    h.client.start();
    const reported = h.transports.length;
    h.client.stop();
    assert.ok(h.sources[0].closed);
    h.sources[0].fail();
    h.clock.tick(60_000);
    assert.equal(h.transports.length, reported);
    assert.equal(h.sockets.length, 0);
  });

  test("the server's in-band error is logged, not treated as a failure", (t) => {
    const h = harness(t);
    h.client.start();
    h.sources[0].send(hello());
    h.sources[0].send(ev(3));
    h.sources[0].send({ type: "problem", project_id: "prj_1", data: { code: "unavailable", message: "ledger away" } });
    assert.ok(h.logs.includes("📡 SSE stream reported a problem: ledger away; it will resume from seq 3"));
    assert.equal(h.transports.at(-1).state, "live");
  });
});

describe("polling", () => {
  test("a server error backs off; the next answer is live again", async (t) => {
    let down = true;
    const h = harness(t, { preference: "polling" }, [
      pollRoute(() => (down ? { status: 503, body: {} } : { status: 200, body: { events: [ev(1)], next_poll_ms: 1000 } })),
    ]);
    h.client.start();
    await settle();
    assert.deepEqual(
      { state: h.transports.at(-1).state, reason: h.transports.at(-1).reason, failures: h.transports.at(-1).failures },
      { state: "waiting", reason: "Server unreachable — polling again in 0.3 s", failures: 1 },
    );
    down = false;
    h.clock.tick(250);
    await settle();
    assert.equal(h.calls.length, 2);
    assert.deepEqual(h.events.map((e) => e.seq), [1]);
    assert.equal(h.transports.at(-1).reason, "Polling every 1 s");
    h.clock.tick(1000);
    await settle();
    assert.equal(h.calls.at(-1).url, `${BASE}/events?after=1`, "each poll asks after the cursor");
  });

  test("404: the project is gone, polling stops", async (t) => {
    const h = harness(t, { preference: "polling" }, [pollRoute(() => ({ status: 404, body: {} }))]);
    h.client.start();
    await settle();
    assert.deepEqual(h.transports.at(-1), { transport: "polling", state: "closed", reason: "This project no longer exists." });
    h.clock.tick(60_000);
    await settle();
    assert.equal(h.calls.length, 1);
  });

  test("every task done but no result in the log: the snapshot finishes the run (the note's edge case)", async (t) => {
    const tasksDone = [ev(1, "task_status", { task_id: "t1", terminal: true }), ev(2, "task_status", { task_id: "t2", terminal: true })];
    const h = harness(t, { preference: "polling" }, [
      pollRoute(() => ({ status: 200, body: { events: tasksDone, next_poll_ms: 1000 } })),
      snapshotRoute({ id: "prj_1", last_seq: 4, terminal: true, status: "completed", result: { url: "/media/late.mp4" } }),
    ]);
    h.client.start();
    await settle();
    await settle();
    assert.ok(h.logs.includes("📊 All tasks completed, looking for video data..."), h.logs.join("\n"));
    assert.ok(h.logs.includes("📊 ✅ Video generation completed: /media/late.mp4"));
    assert.deepEqual(h.snapshots.map((s) => s.source), ["polling"]);
    assert.deepEqual(h.finished, ["polling"]);
    assert.equal(h.client.lastSeq, 4);
  });
});
