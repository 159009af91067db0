// What the project card says, from plain functions (no DOM needed).

import assert from "node:assert/strict";
import { test } from "node:test";

import { fromSnapshot } from "../../src/framecast/web/static/js/state.js";
import { checkMessage } from "../../src/framecast/web/static/js/ui/project/actions.js";
import { metaLine } from "../../src/framecast/web/static/js/ui/project/card.js";
import { chipLabel } from "../../src/framecast/web/static/js/ui/project/chip.js";
import { aspectRatio, filenameOf } from "../../src/framecast/web/static/js/ui/project/media.js";
import { queueText } from "../../src/framecast/web/static/js/ui/project/progress.js";

test("the chip names the transport from the table, and the state", () => {
  assert.equal(chipLabel({ transport: "sse", state: "live", reason: "" }), "SSE · live");
  assert.equal(chipLabel({ transport: "polling", state: "waiting", reason: "" }), "Polling · retrying");
  assert.equal(chipLabel({ transport: "websocket", state: "connecting", reason: "" }), "WebSocket · connecting");
  assert.equal(chipLabel({ transport: "sse", state: "closed", reason: "" }), "SSE · done");
  assert.equal(chipLabel({ transport: null, state: "waiting", reason: "" }), "Offline");
  assert.equal(chipLabel({ transport: null, state: "live", reason: "" }), "Live");
});

test("Check for Results says what the snapshot holds", () => {
  const snap = (/** @type {any} */ more) => ({ id: "prj_1", last_seq: 3, tasks: [], ...more });
  const say = (/** @type {any} */ s) => checkMessage(s, fromSnapshot(s));
  assert.equal(say(snap({ status: "completed", terminal: true, result: { url: "/m.mp4" } })), "Found it! Your video is ready.");
  assert.equal(say(snap({ status: "failed", terminal: true, error: { message: "disk full" } })), "Failed: disk full.");
  assert.equal(
    say(snap({ status: "failed", terminal: true, tasks: [{ id: "t", kind: "compose", status: "failed", error: { message: "no codec" } }] })),
    "Failed: no codec.",
  );
  assert.equal(say(snap({ status: "queued", queue_position: 3 })), "Still queued, position 3 in line.");
  assert.equal(say(snap({ status: "queued" })), "Still queued, waiting for a worker.");
  assert.equal(
    say(snap({ status: "running", tasks: [{ id: "r", kind: "render", status: "running", progress: 0.5 }] })),
    "Still rendering, 50%.",
  );
});

test("the queue line", () => {
  const s = fromSnapshot({ id: "p", status: "queued", queue_position: 1 });
  assert.equal(queueText(s), "Queued — next in line");
  s.queuePosition = 4;
  assert.equal(queueText(s), "Queued — position 4 in line");
  s.queuePosition = null;
  assert.equal(queueText(s), "Queued — waiting for a worker");
  s.status = "running";
  assert.equal(queueText(s), "");
});

test("the meta line and the media's shape", () => {
  const s = fromSnapshot({
    id: "p",
    status: "completed",
    options: { duration_s: 8, aspect: "9:16", resolution: "720p", fps: 30, seed: 42 },
    result: { duration_s: 8.04, width: 720, height: 1280 },
  });
  assert.equal(metaLine(s), "8 s · 9:16 · 720p · 30 fps · seed 42 · length 0:08");
  assert.equal(aspectRatio(s), "720 / 1280");
  s.result = null;
  assert.equal(aspectRatio(s), "9 / 16");
  s.options = { aspect: "wide" };
  assert.equal(aspectRatio(s), "16 / 9");
  assert.equal(filenameOf("/media/prj_1/video%20one.mp4", "http://fc.test/"), "video one.mp4");
  assert.equal(filenameOf("/", "http://fc.test/"), "framecast.mp4");
});
