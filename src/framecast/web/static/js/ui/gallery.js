// The gallery: every finished video, newest first, with inline play, download and delete.

import { ApiError, UNREACHABLE, deleteProject, listVideos } from "../api.js";
import { formatDuration, formatTime } from "../state.js";
import { announce, h, safeUrl, setText } from "./dom.js";

const PAGE = 12;

export function setupGallery() {
  const list = /** @type {HTMLElement} */ (document.getElementById("gallery-list"));
  const status = /** @type {HTMLElement} */ (document.getElementById("gallery-status"));
  const more = /** @type {HTMLButtonElement} */ (document.getElementById("gallery-more"));
  const refreshBtn = /** @type {HTMLButtonElement} */ (document.getElementById("gallery-refresh"));
  /** @type {string | null} */
  let cursor = null;
  let loading = false;
  /** @type {Set<string>} */
  const shown = new Set();
  /** Bumped by clear(): a page that arrives for an earlier person is dropped. */
  let gen = 0;

  /** @param {boolean} reset */
  async function load(reset) {
    if (loading && !reset) return;
    const mine = ++gen;
    loading = true;
    more.disabled = true;
    if (reset) setText(status, "Loading…");
    try {
      const page = await listVideos(PAGE, reset ? null : cursor);
      if (mine !== gen) return;
      const items = Array.isArray(page?.items) ? page.items : [];
      if (reset) {
        list.replaceChildren();
        shown.clear();
      }
      for (const item of items) {
        if (!item?.project_id || shown.has(item.project_id)) continue;
        shown.add(item.project_id);
        list.append(card(item));
      }
      cursor = page?.next_cursor ?? null;
      more.hidden = !cursor;
      setText(status, shown.size ? "" : "No finished videos yet. They appear here as soon as they are ready.");
    } catch (e) {
      if (mine === gen) setText(status, `Couldn't load the gallery. ${e instanceof ApiError ? e.message : UNREACHABLE}`);
    } finally {
      if (mine === gen) {
        loading = false;
        more.disabled = false;
      }
    }
  }

  /** Forget what is shown (the person signed out): nothing of theirs stays on the page. */
  function clear() {
    gen++;
    loading = false;
    more.disabled = false;
    list.replaceChildren();
    shown.clear();
    cursor = null;
    more.hidden = true;
    setText(status, "");
  }

  /** @param {any} item */
  function card(item) {
    const r = item.result ?? {};
    const url = safeUrl(r.url);
    const poster = safeUrl(r.poster_url);
    const prompt = typeof item.prompt === "string" && item.prompt ? item.prompt : "Video from a timeline";
    const media = h("div", { class: "media" });
    const play = h(
      "button",
      { type: "button", class: "play", "aria-label": `Play: ${prompt.slice(0, 80)}` },
      poster ? h("img", { src: poster, alt: "", loading: "lazy" }) : h("span", { class: "media-placeholder" }),
      h("span", { class: "play-icon", "aria-hidden": "true" }),
    );
    play.addEventListener("click", () => {
      if (!url) return;
      const video = /** @type {HTMLVideoElement} */ (
        h("video", { controls: true, playsinline: true, preload: "auto", src: url, poster: poster ?? undefined, autoplay: true })
      );
      video.setAttribute("aria-label", `Video: ${prompt.slice(0, 80)}`);
      media.replaceChildren(video);
      video.focus();
      video.play?.().catch(() => {});
    });
    // The length badge sits beside the button, not in it: visible text inside a button must be part of its
    // accessible name ("Play: prompt"), and the length is read on its own.
    media.append(play);
    if (r.duration_s) media.append(h("span", { class: "media-badge" }, formatDuration(Number(r.duration_s))));
    const title = h("p", { class: "gallery-prompt" }, prompt);
    title.title = prompt;
    const o = item.options ?? {};
    const meta = h(
      "p",
      { class: "muted small" },
      [formatTime(item.created_at), o.resolution, o.aspect].filter(Boolean).join(" · "),
    );
    const badge = item.delivered_at
      ? null
      : h("span", { class: "badge warn", title: "No page confirmed showing this result yet" }, "Not delivered");
    const del = h("button", { type: "button", class: "btn ghost small danger" }, "Delete");
    del.addEventListener("click", async () => {
      if (!confirm(`Delete this video?\n\n${prompt.slice(0, 200)}`)) return;
      del.setAttribute("disabled", "");
      try {
        await deleteProject(item.project_id);
        li.remove();
        shown.delete(item.project_id);
        announce("Video deleted");
        if (!shown.size) setText(status, "No finished videos yet. They appear here as soon as they are ready.");
      } catch (e) {
        del.removeAttribute("disabled");
        setText(status, `Couldn't delete it. ${e instanceof ApiError ? e.message : UNREACHABLE}`);
      }
    });
    const download = url
      ? h("a", { class: "btn ghost small", href: url, download: url.split("/").pop() ?? "framecast.mp4" }, "Download")
      : null;
    const li = h(
      "li",
      { class: "gallery-item card", dataset: { projectId: item.project_id, delivered: item.delivered_at ? "yes" : "no" } },
      media,
      h("div", { class: "gallery-body" }, h("div", { class: "gallery-row" }, title, badge), meta, h("div", { class: "gallery-actions" }, download, del)),
    );
    return li;
  }

  more.addEventListener("click", () => load(false));
  refreshBtn.addEventListener("click", () => load(true));
  // The first load waits for the page to know who is signed in (app.js calls refresh).
  setText(status, "Loading…");
  return { refresh: () => load(true), clear };
}
