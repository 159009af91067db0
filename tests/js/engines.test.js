// The page's engine picker rules (src/framecast/web/static/js/ui/engines.js).
import { test } from "node:test";
import assert from "node:assert/strict";

import { allowedOptions, fitDuration, keepOrFirst, showPicker } from "../../src/framecast/web/static/js/ui/engines.js";

const procedural = {
  name: "procedural", label: "Procedural", description: "", min_duration_s: 1, max_duration_s: 600, durations_s: null,
  aspects: ["16:9", "9:16", "1:1"], resolutions: ["360p", "480p", "720p", "1080p"], fps: [24, 25, 30, 60],
  accepts_timeline: true, voiceover: true, audio: true,
};
const hosted = {
  ...procedural, name: "hosted", label: "Hosted", max_duration_s: 12, durations_s: [4, 8, 12],
  aspects: ["16:9", "9:16"], resolutions: ["720p"], fps: [24], accepts_timeline: false, voiceover: false,
};

test("the picker shows only when there is more than one engine", () => {
  assert.equal(showPicker([procedural]), false);
  assert.equal(showPicker([procedural, hosted]), true);
});

test("an engine offers only what it accepts", () => {
  const a = allowedOptions(hosted);
  assert.deepEqual(a.resolution, ["720p"]);
  assert.deepEqual(a.fps, ["24"]);
  assert.equal(a.voiceover, false);
  assert.equal(keepOrFirst("1:1", a.aspect), "16:9");
  assert.equal(keepOrFirst("9:16", a.aspect), "9:16");
  assert.equal(fitDuration(10, a), 8);
  assert.equal(fitDuration(30, allowedOptions({ ...hosted, durations_s: null })), 12);
  assert.equal(fitDuration(8, allowedOptions(null)), 8);
});
