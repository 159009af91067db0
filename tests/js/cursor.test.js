// The cursor: duplicates dropped by seq, the resume point never moves back, the run's progress is noted.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Cursor } from "../../src/framecast/web/static/js/delivery/cursor.js";

/** @param {number} seq @param {string} [type] @param {object} [data] */
const ev = (seq, type = "render_progress", data = {}) => ({ seq, type, project_id: "prj_1", data });

test("each seq is taken once, in order; repeats and older seqs are dropped", () => {
  const c = new Cursor();
  const taken = [1, 2, 2, 3, 1, 3, 4, 4, 5].filter((seq) => c.accept(ev(seq)));
  assert.deepEqual(taken, [1, 2, 3, 4, 5]);
  assert.equal(c.lastSeq, 5);
});

test("a cursor resumed after N drops everything up to N (what a reconnect replays)", () => {
  const c = new Cursor(7);
  assert.equal(c.accept(ev(7)), false);
  assert.equal(c.accept(ev(3)), false);
  assert.equal(c.accept(ev(8)), true);
  assert.equal(c.lastSeq, 8);
});

test("events without a seq (hello, ping, resync) never move the cursor", () => {
  const c = new Cursor(2);
  assert.equal(c.accept({ type: "hello", project_id: "p", data: { last_seq: 9 } }), false);
  assert.equal(c.accept({ type: "ping", project_id: "p", data: {} }), false);
  assert.equal(c.accept(/** @type {any} */ ({ seq: "3", type: "file", project_id: "p", data: {} })), false);
  assert.equal(c.lastSeq, 2);
});

test("advanceTo (a snapshot) moves forward only", () => {
  const c = new Cursor(5);
  c.advanceTo(3);
  assert.equal(c.lastSeq, 5);
  c.advanceTo(undefined);
  assert.equal(c.lastSeq, 5);
  c.advanceTo(9);
  assert.equal(c.lastSeq, 9);
  assert.equal(c.accept(ev(9)), false);
  assert.equal(c.accept(ev(10)), true);
});

test("notices every task finished before the result arrived (the note's edge case)", () => {
  const c = new Cursor();
  assert.equal(c.awaitingResult(), false, "no task seen yet");
  c.accept(ev(1, "task_status", { task_id: "t1", status: "running", terminal: false }));
  c.accept(ev(2, "task_status", { task_id: "t2", status: "running", terminal: false }));
  c.accept(ev(3, "task_status", { task_id: "t1", status: "completed", terminal: true }));
  assert.equal(c.awaitingResult(), false, "t2 still running");
  c.accept(ev(4, "task_status", { task_id: "t2", status: "completed", terminal: true }));
  assert.equal(c.allTasksDone(), true);
  assert.equal(c.awaitingResult(), true);
  // A repeated, older event must not be counted again: it would re-open t2.
  c.accept(ev(2, "task_status", { task_id: "t2", status: "running", terminal: false }));
  assert.equal(c.allTasksDone(), true);
  c.accept(ev(5, "render_result", { object: { url: "/media/v.mp4" } }));
  assert.equal(c.resultUrl, "/media/v.mp4");
  assert.equal(c.awaitingResult(), false);
});
