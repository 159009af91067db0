// The settings dialog: connection preference and connect timeout, remembered in this browser.

import { preferenceOptions } from "../delivery/transports.js";
import { loadSettings, saveSettings } from "../store.js";
import { h } from "./dom.js";

/** The preference radios, one per choice of the transport table. @returns {HTMLElement[]} */
function preferenceChoices() {
  return preferenceOptions().map(({ value, title, text }) =>
    h(
      "label",
      { class: "radio" },
      h("input", { type: "radio", name: "preference", value }),
      " ",
      h("span", {}, h("strong", {}, title), " ", h("span", { class: "muted" }, text)),
    ),
  );
}

/**
 * @param {{onChange: (s: import("../store.js").Settings) => void}} opts
 * @returns {{current: () => import("../store.js").Settings}}
 */
export function setupSettings({ onChange }) {
  let current = loadSettings();
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById("settings"));
  const form = /** @type {HTMLFormElement} */ (document.getElementById("settings-form"));
  const timeout = /** @type {HTMLInputElement} */ (document.getElementById("connect-timeout"));
  const opener = /** @type {HTMLButtonElement} */ (document.getElementById("settings-open"));
  document.getElementById("preference-choices")?.append(...preferenceChoices());

  opener.addEventListener("click", () => {
    for (const r of form.querySelectorAll("input[name=preference]")) {
      const radio = /** @type {HTMLInputElement} */ (r);
      radio.checked = radio.value === current.preference;
    }
    timeout.value = String(current.connectTimeoutMs / 1000);
    dialog.showModal();
  });
  dialog.addEventListener("close", () => {
    opener.focus();
    if (dialog.returnValue !== "save") return;
    const pref = /** @type {HTMLInputElement | null} */ (form.querySelector("input[name=preference]:checked"));
    const secs = Math.min(10, Math.max(1, Number(timeout.value) || 10));
    const next = { preference: /** @type {any} */ (pref?.value ?? "auto"), connectTimeoutMs: Math.round(secs * 1000) };
    const changed = next.preference !== current.preference || next.connectTimeoutMs !== current.connectTimeoutMs;
    current = next;
    saveSettings(next);
    if (changed) onChange(next);
  });
  return { current: () => current };
}
