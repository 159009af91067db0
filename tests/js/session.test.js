// Who is using the page: the sign-in state machine, what each move makes the page do, and what it shows.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { NOTICES, effects, initialSession, reduce, view } from "../../src/framecast/web/static/js/session.js";

/** @typedef {import("../../src/framecast/web/static/js/session.js").SessionEvent} SessionEvent */

/**
 * Run events from the first state; return every state (the first included).
 * @param {SessionEvent[]} events
 */
function run(...events) {
  const states = [initialSession()];
  for (const ev of events) states.push(reduce(states[states.length - 1], ev));
  return states;
}

/** @param {SessionEvent[]} events */
const last = (...events) => run(...events).at(-1);

const keysOut = { type: "checked", session: { auth: "keys", signed_in: false, owner: null, admin: false } };
/** @param {string} owner */
const keysIn = (owner) => ({ type: "signed-in", session: { auth: "keys", signed_in: true, owner, admin: false } });
/** @param {string} owner */
const checkedIn = (owner, auth = "keys") => ({ type: "checked", session: { auth, signed_in: true, owner, admin: false } });

describe("none mode", () => {
  test("nothing about identity shows, before or after the server answers", () => {
    assert.deepEqual(view(initialSession()), { panel: "none", app: true, identity: "", signOut: false, busy: false, error: "", notice: "" });
    const s = last(checkedIn("local", "none"));
    assert.equal(s.phase, "signed-in");
    assert.deepEqual(view(s), view(initialSession()));
  });

  test("the first answer starts the page; a 401 changes nothing", () => {
    const [a, b] = run(checkedIn("local", "none"));
    assert.deepEqual(effects(a, b), { stop: "", start: true, forget: false });
    assert.equal(reduce(b, { type: "unauthenticated" }), b);
  });
});

describe("keys mode", () => {
  test("signed out at first: the form shows alone, with no notice", () => {
    const s = last(keysOut);
    assert.equal(s.phase, "signed-out");
    const v = view(s);
    assert.equal(v.panel, "form");
    assert.equal(v.app, false);
    assert.equal(v.notice, "");
    assert.equal(v.identity, "");
  });

  test("a valid cookie: signed in at once, with Sign out", () => {
    const [a, b] = run(checkedIn("ana"));
    assert.deepEqual(effects(a, b), { stop: "", start: true, forget: false });
    assert.deepEqual(view(b), { panel: "none", app: true, identity: "Signed in as ana", signOut: true, busy: false, error: "", notice: "" });
  });

  test("a wrong key: the error line, then a right key clears it and starts the page", () => {
    const states = run(keysOut, { type: "submitted" }, { type: "rejected", message: "The API key is not valid." }, { type: "submitted" }, keysIn("ana"));
    assert.equal(view(states[2]).busy, true);
    assert.equal(view(states[3]).error, "The API key is not valid.");
    assert.equal(view(states[3]).busy, false);
    assert.equal(view(states[4]).error, "", "a new try clears the old error");
    assert.deepEqual(effects(states[4], states[5]), { stop: "", start: true, forget: false });
    assert.equal(states[5].owner, "ana");
  });

  test("an empty key is refused without a request (rejected straight from signed-out)", () => {
    const s = last(keysOut, { type: "rejected", message: "Paste your API key." });
    assert.equal(s.phase, "signed-out");
    assert.equal(view(s).error, "Paste your API key.");
  });

  test("sign out stops the page and forgets the URL's projects; the next person starts clean", () => {
    const states = run(keysOut, { type: "submitted" }, keysIn("ana"), { type: "signed-out" }, { type: "submitted" }, keysIn("bob"));
    const [, , , inAna, out, , inBob] = states;
    assert.deepEqual(effects(inAna, out), { stop: "signed-out", start: false, forget: true });
    assert.equal(view(out).notice, NOTICES.signedOut);
    assert.equal(view(out).panel, "form");
    assert.equal(out.owner, null);
    assert.equal(inBob.owner, "bob");
    assert.deepEqual(effects(states[5], inBob), { stop: "", start: true, forget: false });
  });

  test("a 401 during use: the form comes back with a notice, and the projects are kept", () => {
    const [, , inAna, expired] = run(keysOut, checkedIn("ana"), { type: "unauthenticated" });
    assert.deepEqual(effects(inAna, expired), { stop: "expired", start: false, forget: false });
    assert.equal(view(expired).panel, "form");
    assert.equal(view(expired).notice, NOTICES.expired);
    assert.equal(expired.lastOwner, "ana");
  });

  test("after a 401 the same person gets their projects back; another person does not", () => {
    const expired = last(checkedIn("ana"), { type: "unauthenticated" });
    const again = reduce(reduce(expired, { type: "submitted" }), keysIn("ana"));
    assert.deepEqual(effects(expired, again), { stop: "", start: true, forget: false });
    const other = reduce(reduce(expired, { type: "submitted" }), keysIn("bob"));
    assert.deepEqual(effects(expired, other), { stop: "", start: true, forget: true });
  });

  test("a probe that finds the session gone is a 401 too", () => {
    const [, inAna, gone] = run(checkedIn("ana"), keysOut);
    assert.deepEqual(effects(inAna, gone), { stop: "expired", start: false, forget: false });
    assert.equal(view(gone).notice, NOTICES.expired);
  });

  test("someone else signed in (another tab): stop, forget, start for them", () => {
    const [, inAna, inBob] = run(checkedIn("ana"), checkedIn("bob"));
    assert.deepEqual(effects(inAna, inBob), { stop: "switched", start: true, forget: true });
  });

  test("a 401 that arrives while signed out, or a check while signing in, moves nothing", () => {
    const out = last(keysOut);
    assert.equal(reduce(out, { type: "unauthenticated" }), out);
    const signing = last(keysOut, { type: "submitted" });
    assert.equal(reduce(signing, keysOut).phase, "signing-in");
    assert.equal(reduce(signing, { type: "submitted" }), signing);
  });
});

describe("proxy mode", () => {
  test("the proxy names the person: no form, no Sign out", () => {
    const s = last(checkedIn("ana@example.org", "proxy"));
    assert.deepEqual(view(s), { panel: "none", app: true, identity: "Signed in as ana@example.org", signOut: false, busy: false, error: "", notice: "" });
  });

  test("the proxy did not name anyone: its note, never the key form", () => {
    const s = last({ type: "checked", session: { auth: "proxy", signed_in: false, owner: null } });
    assert.equal(view(s).panel, "proxy");
    assert.equal(view(s).notice, NOTICES.proxy);
    const expired = last(checkedIn("ana", "proxy"), { type: "unauthenticated" });
    assert.equal(view(expired).panel, "proxy");
    assert.equal(view(expired).notice, NOTICES.proxyExpired);
  });
});

test("an auth mode the page does not know asks for a key only when the server says nobody is signed in", () => {
  assert.equal(last({ type: "checked", session: { auth: "saml", signed_in: false } }).auth, "keys");
  assert.equal(last({ type: "checked", session: { auth: "saml", signed_in: true, owner: "x" } }).auth, "none");
});
