// The sign-in panel (the key form in `keys` mode, a note in `proxy` mode) and "Signed in as NAME" with
// Sign out in the top bar. It draws a SessionView (session.js); what signing in and out does is app.js's.

import { announce, setText } from "./dom.js";

/**
 * @typedef {Object} SignInHandlers
 * @property {(key: string) => void} onSubmit the person sent a key (trimmed; may be empty)
 * @property {() => void} onSignOut
 */

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @param {SignInHandlers} on
 * @returns {{render: (v: import("../session.js").SessionView, owner: string | null) => void}}
 */
export function setupSignIn(on) {
  const panel = byId("signin");
  const form = /** @type {HTMLFormElement} */ (byId("signin-form"));
  const input = /** @type {HTMLInputElement} */ (byId("signin-key"));
  const submit = /** @type {HTMLButtonElement} */ (byId("signin-submit"));
  const error = byId("signin-error");
  const notice = byId("signin-notice");
  const proxy = byId("signin-proxy");
  const identity = byId("identity");
  const ownerEl = byId("identity-owner");
  const signOut = /** @type {HTMLButtonElement} */ (byId("sign-out"));
  // The per-person part of the page: hidden while nobody is signed in.
  const app = [byId("workspace"), byId("gallery"), byId("gallery-link")];

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!submit.disabled) on.onSubmit(input.value.trim());
  });
  signOut.addEventListener("click", () => {
    signOut.disabled = true;
    on.onSignOut();
  });
  byId("signin-reload").addEventListener("click", () => location.reload());

  /** @type {import("../session.js").SessionView | null} */
  let last = null;

  return {
    render(v, owner) {
      const before = last;
      last = v;
      for (const el of app) el.hidden = !v.app;
      panel.hidden = v.panel === "none";
      form.hidden = v.panel !== "form";
      proxy.hidden = v.panel !== "proxy";
      setText(notice, v.notice);

      setText(error, v.error);
      error.hidden = !v.error;
      if (v.error) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      input.closest(".field")?.classList.toggle("invalid", Boolean(v.error));

      submit.disabled = v.busy;
      if (v.busy) submit.setAttribute("aria-busy", "true");
      else submit.removeAttribute("aria-busy");
      setText(submit, v.busy ? "Signing in…" : "Sign in");

      identity.hidden = !v.identity;
      setText(ownerEl, owner ?? "");
      identity.title = v.identity;
      signOut.hidden = !v.signOut;
      signOut.disabled = false;

      // Focus follows the page: to the key when the form appears or refuses a key, to the prompt after
      // signing in (the form's own submit button would otherwise be lost with the panel).
      const formNow = v.panel === "form";
      const formBefore = before?.panel === "form";
      if (formNow && (!formBefore || (v.error && v.error !== before?.error))) {
        input.focus();
        if (v.error) input.select();
      }
      if (formBefore && !formNow && v.app) {
        input.value = ""; // the key does not stay in the page
        document.getElementById("prompt")?.focus();
        if (v.identity) announce(v.identity);
      }
    },
  };
}
