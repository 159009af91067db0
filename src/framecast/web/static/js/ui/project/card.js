// A project card's DOM: built once, then redrawn from the project's state (head, status, error, buttons).

import { formatDuration, statusLabel } from "../../state.js";
import { h, setText } from "../dom.js";

/**
 * The card and the elements it redraws.
 * @typedef {Object} CardParts
 * @property {HTMLElement} el the <article>
 * @property {HTMLElement} titleEl
 * @property {HTMLElement} metaEl
 * @property {HTMLElement} statusEl
 * @property {HTMLElement} chipEl
 * @property {HTMLElement} chipLabel
 * @property {HTMLElement} chipReason
 * @property {HTMLElement} media
 * @property {HTMLProgressElement} bar
 * @property {HTMLElement} percentEl
 * @property {HTMLElement} etaEl
 * @property {HTMLElement} queueEl
 * @property {HTMLElement} tasksEl
 * @property {HTMLElement} checkEl
 * @property {HTMLElement} errorEl
 * @property {HTMLElement} noticeEl
 * @property {HTMLButtonElement} checkBtn
 * @property {HTMLButtonElement} cancelBtn
 * @property {HTMLButtonElement} retryBtn
 * @property {HTMLAnchorElement} downloadLink
 * @property {HTMLButtonElement} dismissBtn
 */

/**
 * @param {string} id
 * @param {{checkNow: () => void, cancel: () => void, retry: () => void, dismiss: () => void}} on
 * @returns {CardParts}
 */
export function buildCard(id, on) {
  const p = /** @type {CardParts} */ ({});
  p.titleEl = h("h3", { class: "project-prompt" });
  p.statusEl = h("span", { class: "status-pill", dataset: { status: "queued" } }, "Loading…");
  p.chipLabel = h("span", { class: "chip-label" }, "Connecting");
  p.chipReason = h("span", { class: "chip-reason" });
  p.chipEl = h(
    "span",
    { class: "chip", dataset: { state: "connecting" }, role: "status", "aria-label": "Connection" },
    h("span", { class: "chip-dot", "aria-hidden": "true" }),
    p.chipLabel,
    p.chipReason,
  );
  p.media = h("div", { class: "media", dataset: { state: "empty" } }, h("div", { class: "media-placeholder", "aria-hidden": "true" }));
  p.bar = /** @type {HTMLProgressElement} */ (h("progress", { class: "overall-bar", max: "100", value: "0", "aria-label": "Overall progress" }));
  p.percentEl = h("span", { class: "percent" }, "0%");
  p.etaEl = h("span", { class: "eta muted" });
  p.queueEl = h("p", { class: "queue", hidden: true });
  p.tasksEl = h("ul", { class: "tasks", "aria-label": "Steps" });
  p.checkEl = h("p", { class: "check-result", role: "status", "aria-live": "polite" });
  p.errorEl = h("div", { class: "project-error", role: "alert", hidden: true });
  p.noticeEl = h("p", { class: "notice", hidden: true });
  p.checkBtn = /** @type {HTMLButtonElement} */ (h("button", { type: "button", class: "btn check", onclick: on.checkNow }, "Check for Results"));
  p.cancelBtn = /** @type {HTMLButtonElement} */ (h("button", { type: "button", class: "btn ghost cancel", onclick: on.cancel }, "Cancel"));
  p.retryBtn = /** @type {HTMLButtonElement} */ (h("button", { type: "button", class: "btn primary retry", hidden: true, onclick: on.retry }, "Retry"));
  p.downloadLink = /** @type {HTMLAnchorElement} */ (h("a", { class: "btn primary download", hidden: true, download: "" }, "Download"));
  p.dismissBtn = /** @type {HTMLButtonElement} */ (
    h("button", { type: "button", class: "btn ghost dismiss", "aria-label": "Close this project card", onclick: on.dismiss }, "Close")
  );
  p.metaEl = h("p", { class: "project-meta muted" });
  const body = h(
    "div",
    { class: "project-body" },
    p.media,
    h(
      "div",
      { class: "progress-area" },
      h("div", { class: "overall" }, p.bar, h("div", { class: "overall-text" }, p.percentEl, p.etaEl)),
      p.queueEl,
      p.tasksEl,
    ),
  );
  p.el = h(
    "article",
    { class: "card project", dataset: { projectId: id, status: "queued" }, "aria-busy": "true" },
    h("header", { class: "project-head" }, h("div", { class: "project-title" }, p.titleEl, p.metaEl), p.statusEl),
    p.chipEl,
    body,
    p.errorEl,
    p.noticeEl,
    p.checkEl,
    h("footer", { class: "project-actions" }, p.checkBtn, p.retryBtn, p.downloadLink, p.cancelBtn, p.dismissBtn),
  );
  return p;
}

/**
 * The line under the title: "8 s · 16:9 · 720p · 30 fps · seed 42 · length 0:08".
 * @param {import("../../state.js").ProjectState} s
 */
export function metaLine(s) {
  const o = s.options ?? {};
  return [
    o.duration_s != null ? `${o.duration_s} s` : "",
    o.aspect,
    o.resolution,
    o.fps ? `${o.fps} fps` : "",
    o.style,
    o.seed != null ? `seed ${o.seed}` : "",
    s.result?.duration_s ? `length ${formatDuration(s.result.duration_s)}` : "",
  ]
    .filter(Boolean)
    .join(" · ");
}

/** The first task error's message, for a failed project whose own error says nothing. @param {import("../../state.js").ProjectState} s */
export function taskErrorMessage(s) {
  for (const t of s.tasks.values()) if (t.error?.message) return t.error.message;
  return "";
}

/**
 * Redraw the head, the failure box and which buttons show.
 * @param {CardParts} p
 * @param {import("../../state.js").ProjectState} s
 */
export function renderCard(p, s) {
  setText(p.titleEl, s.prompt || "Untitled video");
  p.titleEl.title = s.prompt;
  setText(p.metaEl, metaLine(s));
  p.el.dataset.status = s.status;
  p.statusEl.dataset.status = s.status;
  setText(p.statusEl, statusLabel(s.status));
  p.el.setAttribute("aria-busy", String(!s.terminal));

  const failed = s.status === "failed" || s.status === "cancelled";
  p.errorEl.hidden = !failed;
  if (failed) {
    const reason = s.error?.message || (s.status === "cancelled" ? "" : taskErrorMessage(s));
    p.errorEl.replaceChildren(
      h("strong", {}, s.status === "cancelled" ? "Cancelled." : "This video failed."),
      " ",
      s.status === "cancelled" ? "You can start it again with Retry." : reason ? `Reason: ${reason}` : "The server did not give a reason.",
    );
  }
  p.checkBtn.hidden = s.terminal;
  p.cancelBtn.hidden = s.terminal;
  p.retryBtn.hidden = !failed;
  p.el.classList.toggle("done", s.terminal);
}
