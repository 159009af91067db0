// The video generator page: wires the sign-in, the form, the project cards, the gallery and the settings
// together.
//
// The page first asks who is signed in (GET /api/session). The per-person part (cards, gallery, remembered
// projects) starts only once that is known, stops when the person signs out or the session ends, and starts
// again for whoever signs in next (session.js decides; this file does what it says).

import { ApiError, UNREACHABLE, getSession, newSessionEpoch, onUnauthenticated, signIn, signOut } from "./api.js";
import { effects, initialSession, reduce, view as sessionView } from "./session.js";
import { addActive, forgetUrlActive, loadActive, useOwner } from "./store.js";
import { setupForm } from "./ui/form.js";
import { setupGallery } from "./ui/gallery.js";
import { ProjectView } from "./ui/project/view.js";
import { setupSettings } from "./ui/settings.js";
import { setupSignIn } from "./ui/signin.js";

const list = /** @type {HTMLElement} */ (document.getElementById("projects"));
const empty = /** @type {HTMLElement} */ (document.getElementById("projects-empty"));
const banner = /** @type {HTMLElement} */ (document.getElementById("banner"));
const bannerText = /** @type {HTMLElement} */ (document.getElementById("banner-text"));
/** @type {Map<string, ProjectView>} */
const views = new Map();
/** Sign-ins and sign-outs in one tab reach the others at once (they share the cookie). */
const tabs = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel("framecast:session");
/** A failing stream asks the server who is signed in, at most this often. */
const PROBE_EVERY_MS = 5000;

const settings = setupSettings({
  onChange: () => {
    for (const v of views.values()) v.reconnect();
  },
});
const gallery = setupGallery();
const signin = setupSignIn({ onSubmit: submitKey, onSignOut: endSession });

function updateEmpty() {
  empty.hidden = views.size > 0;
}

/** @param {string} text */
function showBanner(text) {
  bannerText.textContent = text;
  banner.hidden = false;
}

/**
 * Show a project on the page and start following it.
 * @param {string} id
 * @param {any} [snapshot] a snapshot already in hand (the create response)
 */
function open(id, snapshot) {
  if (views.has(id)) return views.get(id);
  const view = new ProjectView(id, {
    settings: settings.current,
    onDismiss: (v) => {
      views.delete(v.id);
      updateEmpty();
    },
    onCompleted: () => gallery.refresh(),
    onTrouble: probeSession,
  });
  views.set(id, view);
  list.prepend(view.el);
  updateEmpty();
  if (snapshot) view.applySnapshot(snapshot);
  view.attach();
  return view;
}

const form = setupForm({
  onCreated: (project) => {
    addActive(project.id);
    const view = open(project.id, project);
    view?.el.scrollIntoView({ behavior: "smooth", block: "nearest" });
  },
});

banner.querySelector("#banner-close")?.addEventListener("click", () => (banner.hidden = true));

// --- who is signed in ------------------------------------------------------------------------------------

let session = initialSession();

/** @param {import("./session.js").SessionEvent} ev */
function dispatch(ev) {
  const prev = session;
  session = reduce(prev, ev);
  const fx = effects(prev, session);
  if (fx.stop) stopPerson(fx.forget);
  if (fx.start) startPerson(fx.forget);
  signin.render(sessionView(session), session.owner);
}

/** @param {boolean} forget the URL's projects and the form belong to the previous person */
function startPerson(forget) {
  newSessionEpoch();
  useOwner(session.auth, session.owner);
  if (forget) {
    forgetUrlActive();
    form.reset();
  }
  gallery.refresh();
  form.loadEngines();
  for (const id of loadActive().reverse()) open(id);
  updateEmpty();
}

/**
 * Take the person's things off the page. Their remembered projects stay in their own storage entry (and,
 * unless `forget`, in the URL), so signing in again re-attaches them.
 * @param {boolean} forget
 */
function stopPerson(forget) {
  for (const v of views.values()) v.destroy();
  views.clear();
  gallery.clear();
  useOwner(session.auth, null);
  if (forget) {
    forgetUrlActive();
    form.reset();
  }
  banner.hidden = true;
  updateEmpty();
}

let checkTries = 0;
let lastProbe = 0;

/** Ask the server who is signed in; the first answer starts the page (retried until it comes). */
async function checkSession() {
  try {
    const answer = await getSession();
    if (checkTries) banner.hidden = true;
    checkTries = 0;
    dispatch({ type: "checked", session: answer });
  } catch (e) {
    if (session.phase !== "checking") return; // a later probe: the next trouble asks again
    checkTries++;
    const delay = Math.min(15_000, 1000 * 2 ** (checkTries - 1));
    showBanner(`${e instanceof ApiError ? e.message : UNREACHABLE} Trying again in ${Math.round(delay / 1000)} s.`);
    setTimeout(checkSession, delay);
  }
}

/** A stream is failing: an EventSource cannot see a 401, so ask whether the session is still there. */
function probeSession() {
  if (session.auth === "none" || session.phase !== "signed-in") return;
  const now = Date.now();
  if (now - lastProbe < PROBE_EVERY_MS) return;
  lastProbe = now;
  checkSession();
}

/** @param {string} key */
async function submitKey(key) {
  if (!key) {
    dispatch({ type: "rejected", message: "Paste your API key: it starts with fc_." });
    return;
  }
  dispatch({ type: "submitted" });
  try {
    const answer = await signIn(key);
    dispatch({ type: "signed-in", session: answer });
    tabs?.postMessage("signed-in");
  } catch (e) {
    let message = e instanceof ApiError ? e.message : UNREACHABLE;
    if (e instanceof ApiError && e.status === 422) message = "That is not an API key: a key starts with fc_ (copy it whole).";
    dispatch({ type: "rejected", message });
  }
}

async function endSession() {
  try {
    await signOut();
  } catch (e) {
    showBanner(`Couldn't sign out. ${e instanceof ApiError ? e.message : UNREACHABLE}`);
    signin.render(sessionView(session), session.owner);
    return;
  }
  dispatch({ type: "signed-out" });
  tabs?.postMessage("signed-out");
}

onUnauthenticated(() => queueMicrotask(() => dispatch({ type: "unauthenticated" })));
if (tabs) {
  tabs.onmessage = (ev) => {
    if (ev.data === "signed-out" && session.phase === "signed-in") dispatch({ type: "signed-out" });
    else if (ev.data === "signed-in") checkSession();
  };
}

signin.render(sessionView(session), null);
updateEmpty();
checkSession();

// For support and the e2e tests: what each project received and over which transport, and who is signed in.
Object.defineProperty(window, "framecast", {
  value: Object.freeze({
    views,
    session: () => ({ ...session }),
    debug: (/** @type {string} */ id) => {
      const v = views.get(id);
      return v
        ? { applied: [...v.applied], role: v.role, lastSeq: v.state.lastSeq, status: v.state.status, media: [...v.mediaHistory], videoShownAt: v.videoShownAt, transports: v.transportHistory.map((t) => ({ ...t })) }
        : null;
    },
  }),
});
