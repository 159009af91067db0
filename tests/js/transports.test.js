// The transport table: one entry per transport, and everything that names transports reads it.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  PREFERENCES,
  TRANSPORTS,
  chainProse,
  preferenceOptions,
  transportChain,
  transportLabel,
  transportSpec,
} from "../../src/framecast/web/static/js/delivery/transports.js";

test("the preferences are auto and every transport of the table", () => {
  assert.deepEqual(PREFERENCES, ["auto", "sse", "websocket", "polling"]);
});

test("auto tries SSE, then WebSocket, then polling", () => {
  assert.deepEqual(transportChain("auto"), ["sse", "websocket", "polling"]);
});

test("a chosen transport falls back to polling only; polling has nowhere to go", () => {
  assert.deepEqual(transportChain("sse"), ["sse", "polling"]);
  assert.deepEqual(transportChain("websocket"), ["websocket", "polling"]);
  assert.deepEqual(transportChain("polling"), ["polling"]);
});

test("an unknown or missing preference (an old saved setting) counts as auto", () => {
  assert.deepEqual(transportChain("carrier-pigeon"), ["sse", "websocket", "polling"]);
  assert.deepEqual(transportChain(/** @type {any} */ (undefined)), ["sse", "websocket", "polling"]);
});

test("every chain ends with the last resorts and names each transport once", () => {
  const lastResorts = TRANSPORTS.filter((t) => t.lastResort).map((t) => t.name);
  assert.ok(lastResorts.length >= 1, "some transport must work through any proxy");
  for (const pref of PREFERENCES) {
    const chain = transportChain(pref);
    assert.equal(new Set(chain).size, chain.length, `${pref}: ${chain}`);
    assert.deepEqual(chain.slice(-lastResorts.length), lastResorts, `${pref}: ${chain}`);
  }
});

test("each entry can be opened and named", () => {
  for (const t of TRANSPORTS) {
    assert.equal(typeof t.open, "function", t.name);
    assert.match(t.name, /^[a-z]+$/);
    assert.ok(t.label && t.prose && t.description, t.name);
    assert.equal(transportSpec(t.name), t);
  }
  assert.equal(transportSpec("nope"), undefined);
});

test("the chip's labels", () => {
  assert.equal(transportLabel("sse"), "SSE");
  assert.equal(transportLabel("websocket"), "WebSocket");
  assert.equal(transportLabel("polling"), "Polling");
  assert.equal(transportLabel(null), "");
});

test("the settings dialog's choices say what each falls back to", () => {
  assert.equal(chainProse(["sse", "websocket", "polling"]), "SSE, then WebSocket, then polling");
  assert.deepEqual(preferenceOptions(), [
    { value: "auto", title: "Automatic", text: "SSE, then WebSocket, then polling if a connection stays silent or fails." },
    { value: "sse", title: "SSE", text: "Server-Sent Events; polling if it cannot connect." },
    { value: "websocket", title: "WebSocket", text: "For networks that buffer SSE; polling if it cannot connect." },
    { value: "polling", title: "Polling", text: "Asks every second or two. Works through any proxy." },
  ]);
});
