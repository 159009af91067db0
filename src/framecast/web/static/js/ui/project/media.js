// A project card's media box: a placeholder, then the poster as soon as its file exists, then the player.

import { posterUrl } from "../../state.js";
import { announce, h, safeUrl } from "../dom.js";

/**
 * The CSS aspect-ratio for the media: the result's own size once known, else the requested aspect.
 * @param {import("../../state.js").ProjectState} s
 */
export function aspectRatio(s) {
  const r = s.result;
  if (r?.width && r?.height) return `${r.width} / ${r.height}`;
  const a = String(s.options?.aspect ?? "16:9").split(":").map(Number);
  return a.length === 2 && a[0] && a[1] ? `${a[0]} / ${a[1]}` : "16 / 9";
}

/**
 * The name a download gets: the file name in the URL.
 * @param {string} url
 * @param {string} [base] what a relative URL is taken against (the page's address)
 */
export function filenameOf(url, base = globalThis.location?.href) {
  try {
    return decodeURIComponent(new URL(url, base).pathname.split("/").pop() || "framecast.mp4");
  } catch {
    return "framecast.mp4";
  }
}

/**
 * What the media box shows and its record for the e2e tests (`history`: "poster", "video" in order).
 * @typedef {Object} MediaLog
 * @property {string[]} history
 * @property {number} videoShownAt epoch ms when the player appeared
 */

/**
 * Redraw the media box; the player is created once per result URL (so playback is never interrupted).
 * @param {import("./card.js").CardParts} p
 * @param {import("../../state.js").ProjectState} s
 * @param {string} title the short prompt, for the player's and the poster's names
 * @param {MediaLog} log
 */
export function renderMedia(p, s, title, log) {
  const media = p.media;
  media.hidden = s.terminal && s.status !== "completed" && !posterUrl(s);
  const result = s.result;
  const videoUrl = s.status === "completed" || result?.url ? safeUrl(result?.url) : null;
  const poster = safeUrl(posterUrl(s));
  /** @param {HTMLElement | null} el */
  const shape = (el) => {
    // CSSOM, not a style attribute: allowed by the page's CSP (style-src 'self').
    if (el) el.style.aspectRatio = aspectRatio(s);
  };
  if (videoUrl) {
    if (media.dataset.state !== "video" || media.dataset.src !== videoUrl) {
      const video = h("video", { class: "result-video", controls: true, playsinline: true, preload: "metadata", src: videoUrl, poster: poster ?? undefined });
      video.setAttribute("aria-label", `Video: ${title}`);
      shape(video);
      media.replaceChildren(video);
      media.dataset.state = "video";
      log.history.push("video");
      log.videoShownAt = Date.now();
      media.dataset.src = videoUrl;
      p.downloadLink.setAttribute("href", videoUrl);
      p.downloadLink.setAttribute("download", filenameOf(videoUrl));
      p.downloadLink.hidden = false;
      announce(`${title}: your video is ready`);
    }
  } else if (poster && media.dataset.state !== "poster") {
    const img = h("img", { class: "poster", src: poster, alt: `First frame of: ${title}` });
    shape(img);
    media.replaceChildren(img, h("span", { class: "media-badge" }, "Preview"));
    media.dataset.state = "poster";
    log.history.push("poster");
  } else if (!poster && !videoUrl && media.dataset.state === "empty") {
    shape(/** @type {HTMLElement | null} */ (media.firstElementChild));
  }
}
