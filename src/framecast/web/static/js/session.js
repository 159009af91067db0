// Who is using the page, as a small state machine (no DOM, no fetch: tests/js/session.test.js drives it).
//
// The server says how it signs people in (GET /api/session -> {auth, signed_in, owner, admin}):
//   none  — one owner and no sign-in: the page shows nothing about identity, exactly as before.
//   keys  — an API key typed once becomes an HttpOnly session cookie (POST /api/session); Sign out is
//           DELETE /api/session. A 401 while the page is in use (key revoked, cookie expired) asks again.
//   proxy — the identity proxy in front of Framecast names the person; signing in and out is the proxy's.
//
// `reduce` moves the state on an event; `effects(prev, next)` says what the page must do about a move
// (stop and start its per-person part: project cards, gallery, remembered projects); `view` what it shows.

/** @typedef {"none" | "keys" | "proxy"} AuthMode */
/** @typedef {"checking" | "signed-out" | "signing-in" | "signed-in"} Phase */
/** @typedef {"" | "signed-out" | "expired"} Why */

/**
 * @typedef {Object} SessionState
 * @property {AuthMode | null} auth null until the server has said
 * @property {Phase} phase
 * @property {string | null} owner who is signed in (in `none` mode: the server's single owner)
 * @property {boolean} admin
 * @property {string} error the sign-in form's error line (a wrong key), "" when there is none
 * @property {Why} why why the sign-in form is showing: "" on a first visit
 * @property {string | null} lastOwner who was signed in before the form came back (after a 401)
 */

/**
 * @typedef {{type: "checked", session: any}
 *   | {type: "submitted"}
 *   | {type: "signed-in", session: any}
 *   | {type: "rejected", message: string}
 *   | {type: "signed-out"}
 *   | {type: "unauthenticated"}} SessionEvent
 */

/**
 * What the page must do about a move.
 * @typedef {Object} Effects
 * @property {"" | "signed-out" | "expired" | "switched"} stop end the per-person part of the page
 * @property {boolean} start start it for `next.owner` (after any stop)
 * @property {boolean} forget drop the project ids the URL carries: they are the previous person's
 */

/**
 * What the page shows.
 * @typedef {Object} SessionView
 * @property {"none" | "form" | "proxy"} panel the sign-in panel: hidden, the key form, or the proxy's note
 * @property {boolean} app the workspace and the gallery show
 * @property {string} identity "Signed in as NAME", or "" to show nothing
 * @property {boolean} signOut the Sign out button shows
 * @property {boolean} busy a sign-in is on its way
 * @property {string} error the form's error line
 * @property {string} notice why the panel is showing
 */

export const NOTICES = Object.freeze({
  signedOut: "You signed out. Sign in with a key to see your videos again.",
  expired: "Your session ended (the key was revoked, or the sign-in expired). Sign in again: videos that were rendering carry on and come back here.",
  proxy: "This Framecast is behind your site's sign-in, which did not say who you are. Sign in there, then reload this page.",
  proxyExpired: "Your sign-in through the site ended. Reload this page to sign in again.",
});

/** @returns {SessionState} */
export function initialSession() {
  return { auth: null, phase: "checking", owner: null, admin: false, error: "", why: "", lastOwner: null };
}

/** @param {unknown} v @param {boolean} signedIn @returns {AuthMode} */
function mode(v, signedIn) {
  if (v === "none" || v === "keys" || v === "proxy") return v;
  return signedIn ? "none" : "keys"; // an answer we do not know: ask for a key only if it says we must
}

/** @param {unknown} v */
const ownerOf = (v) => (typeof v === "string" && v ? v : null);

/**
 * @param {SessionState} s
 * @param {SessionEvent} ev
 * @returns {SessionState}
 */
export function reduce(s, ev) {
  switch (ev.type) {
    case "checked": {
      const signedIn = Boolean(ev.session?.signed_in);
      const auth = mode(ev.session?.auth, signedIn);
      if (signedIn) return signedInAs(s, auth, ev.session);
      if (s.phase === "signing-in") return { ...s, auth }; // the sign-in's own answer decides
      if (s.phase === "signed-in") return ended(s, auth, "expired");
      return { ...s, auth, phase: "signed-out", owner: null, admin: false };
    }
    case "submitted":
      return s.phase === "signed-out" ? { ...s, phase: "signing-in", error: "" } : s;
    case "signed-in":
      return signedInAs(s, mode(ev.session?.auth ?? s.auth, true), ev.session);
    case "rejected":
      return s.phase === "signing-in" || s.phase === "signed-out" ? { ...s, phase: "signed-out", error: ev.message } : s;
    case "signed-out":
      return { ...ended(s, s.auth, "signed-out"), lastOwner: null };
    case "unauthenticated":
      return s.phase === "signed-in" && s.auth !== "none" && s.auth !== null ? ended(s, s.auth, "expired") : s;
    default:
      return s;
  }
}

/** @param {SessionState} s @param {AuthMode} auth @param {any} session @returns {SessionState} */
function signedInAs(s, auth, session) {
  const lastOwner = s.phase === "signed-in" ? s.owner : s.lastOwner;
  return { auth, phase: "signed-in", owner: ownerOf(session?.owner), admin: Boolean(session?.admin), error: "", why: "", lastOwner };
}

/** @param {SessionState} s @param {AuthMode | null} auth @param {Why} why @returns {SessionState} */
function ended(s, auth, why) {
  return { auth, phase: "signed-out", owner: null, admin: false, error: "", why, lastOwner: s.owner ?? s.lastOwner };
}

/**
 * @param {SessionState} prev
 * @param {SessionState} next
 * @returns {Effects}
 */
export function effects(prev, next) {
  const was = prev.phase === "signed-in";
  const is = next.phase === "signed-in";
  if (was && !is) return { stop: next.why || "expired", start: false, forget: next.why === "signed-out" };
  if (was && is && prev.owner !== next.owner) return { stop: "switched", start: true, forget: true };
  if (!was && is) return { stop: "", start: true, forget: next.lastOwner !== null && next.lastOwner !== next.owner };
  return { stop: "", start: false, forget: false };
}

/**
 * @param {SessionState} s
 * @returns {SessionView}
 */
export function view(s) {
  const base = { panel: /** @type {SessionView["panel"]} */ ("none"), app: true, identity: "", signOut: false, busy: false, error: "", notice: "" };
  if (s.auth === null || s.auth === "none") return base;
  if (s.phase === "signed-in") return { ...base, identity: s.owner ? `Signed in as ${s.owner}` : "", signOut: s.auth === "keys" };
  if (s.auth === "proxy") return { ...base, panel: "proxy", app: false, notice: s.why === "expired" ? NOTICES.proxyExpired : NOTICES.proxy };
  const notice = s.why === "signed-out" ? NOTICES.signedOut : s.why === "expired" ? NOTICES.expired : "";
  return { ...base, panel: "form", app: false, busy: s.phase === "signing-in", error: s.error, notice };
}
