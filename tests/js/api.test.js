// What a failed API call says (quota, outage), Retry-After, and the 401 report that brings the sign-in back.

import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import {
  ApiError,
  api,
  newSessionEpoch,
  onUnauthenticated,
  problem,
  retryAfterSeconds,
  waitText,
  watchedFetch,
} from "../../src/framecast/web/static/js/api.js";

describe("Retry-After", () => {
  test("delta-seconds and HTTP dates; nothing readable is null", () => {
    const now = Date.parse("2026-11-24T03:41:07Z");
    assert.equal(retryAfterSeconds("120", now), 120);
    assert.equal(retryAfterSeconds(" 3 ", now), 3);
    assert.equal(retryAfterSeconds("Tue, 24 Nov 2026 03:41:37 GMT", now), 30);
    assert.equal(retryAfterSeconds("Tue, 24 Nov 2026 03:40:00 GMT", now), 0);
    assert.equal(retryAfterSeconds(null, now), null);
    assert.equal(retryAfterSeconds("", now), null);
    assert.equal(retryAfterSeconds("soon", now), null);
  });

  test("waits read as seconds, minutes or hours", () => {
    assert.equal(waitText(0), "1 s");
    assert.equal(waitText(5), "5 s");
    assert.equal(waitText(119), "119 s");
    assert.equal(waitText(600), "10 min");
    assert.equal(waitText(86400), "24 h");
  });
});

describe("problem messages", () => {
  test("429 quota_exceeded: the server's sentence, then when to try again", () => {
    const msg = "You have 2 projects queued or running, the most allowed at once (FRAMECAST_QUOTA_ACTIVE=2); wait for one to finish or cancel one.";
    const e = problem(429, { status: 429, code: "quota_exceeded", message: msg, limit: "active" }, 5);
    assert.equal(e.message, `${msg} Try again in 5 s.`);
    assert.equal(e.code, "quota_exceeded");
    assert.equal(e.retryAfterS, 5);
    assert.equal(problem(429, { code: "quota_exceeded", message: msg }, null).message, msg);
  });

  test("503 service_unavailable: busy or recovering, never the operator's cause", () => {
    const e = problem(503, { code: "service_unavailable", cause: "database_down", message: "database is locked at /srv/x.db" }, 3);
    assert.equal(e.message, "The service is busy or recovering; try again in 3 s.");
    assert.equal(problem(503, null, null).message, "The service is busy or recovering; try again in a few seconds.");
  });

  test("other errors keep the server's message and field", () => {
    const e = problem(422, { code: "invalid_input", message: "'duration_s': too long.", field: "duration_s" });
    assert.equal(e.message, "'duration_s': too long.");
    assert.equal(e.field, "duration_s");
    assert.equal(problem(404, null).message, "Not found: it may have been deleted.");
  });
});

describe("a 401 during use", () => {
  const realFetch = globalThis.fetch;
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  /** @param {number} status @param {object} [body] @param {Record<string, string>} [headers] */
  const answer = (status, body, headers = {}) => async () =>
    new Response(body ? JSON.stringify(body) : null, { status, headers: { "Content-Type": "application/json", ...headers } });

  test("api() and watchedFetch report it; other statuses do not", async () => {
    let told = 0;
    const stop = onUnauthenticated(() => told++);
    try {
      globalThis.fetch = answer(401, { code: "unauthenticated", message: "Sign in." });
      await assert.rejects(api("/api/videos"), (e) => e instanceof ApiError && e.status === 401);
      assert.equal(told, 1);
      assert.equal((await watchedFetch("/api/projects/p/events")).status, 401);
      assert.equal(told, 2);
      globalThis.fetch = answer(404, { code: "project_not_found", message: "No such project." });
      await assert.rejects(api("/api/projects/x"));
      assert.equal(told, 2);
    } finally {
      stop();
    }
  });

  test("an answer to a request of an earlier sign-in is not reported", async () => {
    let told = 0;
    const stop = onUnauthenticated(() => told++);
    /** @type {(r: Response) => void} */
    let release = () => {};
    globalThis.fetch = () => new Promise((resolve) => (release = resolve));
    try {
      const late = watchedFetch("/api/projects/p/events");
      newSessionEpoch(); // the person signed in again meanwhile
      release(new Response(null, { status: 401 }));
      await late;
      assert.equal(told, 0);
    } finally {
      stop();
    }
  });

  test("the 429's Retry-After reaches the error", async () => {
    globalThis.fetch = answer(429, { code: "quota_exceeded", message: "Limit reached." }, { "Retry-After": "42" });
    await assert.rejects(api("/api/projects", { method: "POST", json: {} }), (e) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.message, "Limit reached. Try again in 42 s.");
      assert.equal(e.retryAfterS, 42);
      return true;
    });
  });
});
