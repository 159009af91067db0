// One project on the page: its card, its state, and the delivery that keeps both up to date.

import { ApiError, UNREACHABLE, cancelProject, confirmDelivered, getProject, retryProject } from "../api.js";
import { DeliveryClient } from "../delivery/controller.js";
import { transportLabel } from "../delivery/transports.js";
import {
  applyEvent,
  emptyState,
  etaSeconds,
  formatDuration,
  formatEta,
  fromSnapshot,
  overallPercent,
  posterUrl,
  statusLabel,
  taskLabel,
} from "../state.js";
import { removeActive } from "../store.js";
import { coordinate } from "../tabs.js";
import { announce, h, safeUrl, setText } from "./dom.js";

/**
 * @typedef {Object} ViewOptions
 * @property {() => import("../store.js").Settings} settings
 * @property {(view: ProjectView) => void} onDismiss
 * @property {(view: ProjectView) => void} onCompleted
 */

export class ProjectView {
  /**
   * @param {string} id
   * @param {ViewOptions} opts
   */
  constructor(id, opts) {
    this.id = id;
    this.opts = opts;
    this.state = emptyState(id);
    /** @type {DeliveryClient | null} */
    this.client = null;
    /** @type {import("../tabs.js").Coordination | null} */
    this.coord = null;
    /** Seqs applied from events, in order: the e2e tests check there is no gap and no repeat. */
    /** @type {number[]} */
    this.applied = [];
    /** @type {import("../delivery/transports.js").TransportInfo[]} */
    this.transportHistory = [];
    /** What the media box showed, in order ("poster", "video"), and when the video appeared (epoch ms). */
    /** @type {string[]} */
    this.mediaHistory = [];
    this.videoShownAt = 0;
    this.role = "none";
    this.deliveredSent = false;
    this.announcedStep = -1;
    this.renderQueued = false;
    this.attachTries = 0;
    this.destroyed = false;
    this.el = this.build();
  }

  build() {
    this.titleEl = h("h3", { class: "project-prompt" });
    this.statusEl = h("span", { class: "status-pill", dataset: { status: "queued" } }, "Loading…");
    this.chipDot = h("span", { class: "chip-dot", "aria-hidden": "true" });
    this.chipLabel = h("span", { class: "chip-label" }, "Connecting");
    this.chipReason = h("span", { class: "chip-reason" });
    this.chipEl = h(
      "span",
      { class: "chip", dataset: { state: "connecting" }, role: "status", "aria-label": "Connection" },
      this.chipDot,
      this.chipLabel,
      this.chipReason,
    );
    this.media = h("div", { class: "media", dataset: { state: "empty" } }, h("div", { class: "media-placeholder", "aria-hidden": "true" }));
    this.bar = /** @type {HTMLProgressElement} */ (h("progress", { class: "overall-bar", max: "100", value: "0", "aria-label": "Overall progress" }));
    this.percentEl = h("span", { class: "percent" }, "0%");
    this.etaEl = h("span", { class: "eta muted" });
    this.queueEl = h("p", { class: "queue", hidden: true });
    this.tasksEl = h("ul", { class: "tasks", "aria-label": "Steps" });
    this.checkEl = h("p", { class: "check-result", role: "status", "aria-live": "polite" });
    this.errorEl = h("div", { class: "project-error", role: "alert", hidden: true });
    this.noticeEl = h("p", { class: "notice", hidden: true });
    this.checkBtn = h("button", { type: "button", class: "btn check", onclick: () => this.checkNow() }, "Check for Results");
    this.cancelBtn = h("button", { type: "button", class: "btn ghost cancel", onclick: () => this.cancel() }, "Cancel");
    this.retryBtn = h("button", { type: "button", class: "btn primary retry", hidden: true, onclick: () => this.retry() }, "Retry");
    this.downloadLink = h("a", { class: "btn primary download", hidden: true, download: "" }, "Download");
    this.dismissBtn = h(
      "button",
      { type: "button", class: "btn ghost dismiss", "aria-label": "Close this project card", onclick: () => this.dismiss() },
      "Close",
    );
    this.metaEl = h("p", { class: "project-meta muted" });
    const body = h(
      "div",
      { class: "project-body" },
      this.media,
      h(
        "div",
        { class: "progress-area" },
        h("div", { class: "overall" }, this.bar, h("div", { class: "overall-text" }, this.percentEl, this.etaEl)),
        this.queueEl,
        this.tasksEl,
      ),
    );
    return h(
      "article",
      { class: "card project", dataset: { projectId: this.id, status: "queued" }, "aria-busy": "true" },
      h("header", { class: "project-head" }, h("div", { class: "project-title" }, this.titleEl, this.metaEl), this.statusEl),
      this.chipEl,
      body,
      this.errorEl,
      this.noticeEl,
      this.checkEl,
      h("footer", { class: "project-actions" }, this.checkBtn, this.retryBtn, this.downloadLink, this.cancelBtn, this.dismissBtn),
    );
  }

  /** Fetch the snapshot, draw it, then take part in delivery (as the leader tab or a follower). */
  async attach() {
    if (this.destroyed) return;
    try {
      const snap = await getProject(this.id);
      this.applySnapshot(snap);
      this.attachTries = 0;
      this.hideNotice();
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        this.gone();
        return;
      }
      this.attachTries++;
      const delay = Math.min(15000, 1000 * 2 ** this.attachTries);
      this.showNotice(`${e instanceof ApiError ? e.message : UNREACHABLE} Trying again in ${Math.round(delay / 1000)} s.`);
      this.setChip({ transport: null, state: "waiting", reason: "Server unreachable" });
      setTimeout(() => this.attach(), delay);
      return;
    }
    if (this.state.terminal) this.onTerminal("snapshot");
    else this.join();
  }

  /** Take part in delivering this project's events: one tab connects, the others listen. */
  join() {
    if (this.coord || this.destroyed) return;
    this.coord = coordinate(this.id, {
      onLead: () => this.lead(),
      onFollow: () => {
        this.role = "follower";
        this.setChip({ transport: null, state: "live", reason: "Shared with another tab" });
        this.refresh(); // catch up on anything between our snapshot and the leader's next message
      },
      onMessage: (msg) => this.fromLeader(msg),
    });
  }

  lead() {
    if (this.destroyed || this.state.terminal) {
      this.coord?.release();
      this.coord = null;
      return;
    }
    this.role = "leader";
    const s = this.opts.settings();
    this.client = new DeliveryClient({
      projectId: this.id,
      preference: s.preference,
      connectTimeoutMs: s.connectTimeoutMs,
      after: this.state.lastSeq,
      onEvent: (env) => {
        this.coord?.post({ kind: "event", env });
        this.applyEvent(env);
      },
      onTransport: (info) => {
        this.coord?.post({ kind: "transport", info });
        this.setChip(info);
      },
      onSnapshot: (snap) => {
        this.coord?.post({ kind: "snapshot", snap });
        this.applySnapshot(snap);
      },
      onDone: (how) => this.onTerminal(how),
    });
    this.client.start();
  }

  /** @param {any} msg */
  fromLeader(msg) {
    if (this.role === "leader" || this.destroyed) return;
    if (msg?.kind === "event") {
      const env = msg.env;
      if (typeof env?.seq !== "number" || env.seq <= this.state.lastSeq) return;
      if (env.seq > this.state.lastSeq + 1) {
        // We joined between two events: the snapshot fills the hole.
        this.refresh();
        return;
      }
      this.applyEvent(env);
      if (env.type === "project_status" && env.data?.terminal) this.onTerminal("tab");
    } else if (msg?.kind === "transport") {
      const info = msg.info;
      this.setChip({ ...info, reason: info.reason ? `${info.reason} (in another tab)` : "In another tab" });
    } else if (msg?.kind === "snapshot") {
      this.applySnapshot(msg.snap);
      if (this.state.terminal) this.onTerminal("tab");
    }
  }

  async refresh() {
    try {
      this.applySnapshot(await getProject(this.id));
      if (this.state.terminal) this.onTerminal("snapshot");
    } catch {
      // the next event or the next check will try again
    }
  }

  /** @param {any} snap */
  applySnapshot(snap) {
    if (!snap || String(snap.id) !== this.id) return;
    if (Number(snap.last_seq ?? 0) < this.state.lastSeq) return; // older than what we have already shown
    this.state = fromSnapshot(snap);
    this.client?.cursor.advanceTo(this.state.lastSeq);
    this.scheduleRender();
  }

  /** @param {import("../delivery/envelope.js").Envelope} env */
  applyEvent(env) {
    if (typeof env.seq === "number") this.applied.push(env.seq);
    const before = this.state.status;
    applyEvent(this.state, env);
    if (before !== this.state.status) announce(`${this.promptShort()}: ${statusLabel(this.state.status)}`);
    this.scheduleRender();
  }

  scheduleRender() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    // Progress events come ~10/s per task; drawing once per frame is plenty (and hidden tabs skip frames).
    const run = () => {
      this.renderQueued = false;
      this.render();
    };
    if (document.hidden) setTimeout(run, 100);
    else requestAnimationFrame(run);
  }

  /** @param {string} how */
  async onTerminal(how) {
    this.render();
    if (this.coord) {
      // Hold the lock a moment longer: the other tabs must get the terminal event (just broadcast) before
      // one of them is granted the lock and would open a stream of its own to find out.
      const coord = this.coord;
      this.coord = null;
      setTimeout(() => coord.release(), 2000);
    }
    this.client = null;
    const s = this.state;
    if (s.status === "completed") {
      // The leader (or a tab on its own) confirms; followers saw the same result through it.
      if (how !== "tab" && !this.deliveredSent && s.result?.url) {
        this.deliveredSent = true;
        try {
          await confirmDelivered(this.id, s.lastSeq);
          s.deliveredAt = new Date().toISOString();
          removeActive(this.id);
        } catch {
          this.deliveredSent = false; // a later reload tries again; the gallery shows the badge meanwhile
        }
      }
      if (s.deliveredAt) removeActive(this.id);
      this.opts.onCompleted(this);
    }
  }

  /** @param {import("../delivery/transports.js").TransportInfo} info */
  setChip(info) {
    this.transportHistory.push(info);
    const name = transportLabel(info.transport);
    this.chipEl.dataset.state = info.state;
    this.chipEl.dataset.transport = info.transport ?? "";
    let label = name;
    if (info.state === "connecting") label = name ? `${name} · connecting` : "Connecting";
    else if (info.state === "waiting") label = name ? `${name} · retrying` : "Offline";
    else if (info.state === "closed") label = name ? `${name} · done` : "Done";
    else label = name ? `${name} · live` : "Live";
    setText(this.chipLabel, label);
    setText(this.chipReason, info.reason || "");
    this.chipEl.title = info.reason || label;
    if (info.state === "waiting" && (info.failures ?? 0) >= 2) {
      this.showNotice("Can't reach the Framecast server right now. Your video keeps rendering there if it is running; this page reconnects by itself and picks up where it left off.");
    } else if (info.state === "live") this.hideNotice();
  }

  /** @param {string} text */
  showNotice(text) {
    setText(this.noticeEl, text);
    this.noticeEl.hidden = false;
  }

  hideNotice() {
    this.noticeEl.hidden = true;
  }

  promptShort() {
    const p = this.state.prompt || "Your video";
    return p.length > 60 ? `${p.slice(0, 57)}…` : p;
  }

  render() {
    if (this.destroyed) return;
    const s = this.state;
    setText(this.titleEl, s.prompt || "Untitled video");
    this.titleEl.title = s.prompt;
    const o = s.options ?? {};
    const bits = [o.duration_s != null ? `${o.duration_s} s` : "", o.aspect, o.resolution, o.fps ? `${o.fps} fps` : "", o.style, o.seed != null ? `seed ${o.seed}` : "", s.result?.duration_s ? `length ${formatDuration(s.result.duration_s)}` : ""].filter(Boolean);
    setText(this.metaEl, bits.join(" · "));
    this.el.dataset.status = s.status;
    this.statusEl.dataset.status = s.status;
    setText(this.statusEl, statusLabel(s.status));
    this.el.setAttribute("aria-busy", String(!s.terminal));

    const pct = overallPercent(s);
    this.bar.value = pct;
    setText(this.percentEl, `${pct}%`);
    setText(this.etaEl, s.terminal ? "" : formatEta(etaSeconds(s)));
    const step = s.terminal ? 4 : Math.floor(pct / 25);
    if (step !== this.announcedStep && !s.terminal && step > 0) announce(`${this.promptShort()}: ${pct}%`);
    this.announcedStep = step;

    if (s.status === "queued" && s.queuePosition != null) {
      setText(this.queueEl, s.queuePosition <= 1 ? "Queued — next in line" : `Queued — position ${s.queuePosition} in line`);
      this.queueEl.hidden = false;
    } else if (s.status === "queued") {
      setText(this.queueEl, "Queued — waiting for a worker");
      this.queueEl.hidden = false;
    } else this.queueEl.hidden = true;

    this.renderTasks();
    this.renderMedia();

    const failed = s.status === "failed" || s.status === "cancelled";
    this.errorEl.hidden = !failed;
    if (failed) {
      const reason = s.error?.message || (s.status === "cancelled" ? "" : this.taskErrorMessage());
      this.errorEl.replaceChildren(
        h("strong", {}, s.status === "cancelled" ? "Cancelled." : "This video failed."),
        " ",
        s.status === "cancelled" ? "You can start it again with Retry." : reason ? `Reason: ${reason}` : "The server did not give a reason.",
      );
    }
    this.checkBtn.hidden = s.terminal;
    this.cancelBtn.hidden = s.terminal;
    this.retryBtn.hidden = !failed;
    this.el.classList.toggle("done", s.terminal);
  }

  taskErrorMessage() {
    for (const t of this.state.tasks.values()) if (t.error?.message) return t.error.message;
    return "";
  }

  renderTasks() {
    const items = [];
    let chunk = 0;
    for (const t of this.state.tasks.values()) {
      if (t.kind === "render_chunk") chunk++;
      const pct = Math.round(Math.max(0, Math.min(1, t.status === "completed" ? 1 : t.progress)) * 100);
      const label = taskLabel(t.kind, chunk);
      items.push(
        h(
          "li",
          { class: "task", dataset: { status: t.status, kind: t.kind } },
          h("span", { class: "task-label" }, label, t.attempt > 1 ? h("span", { class: "muted" }, ` · try ${t.attempt}`) : null),
          h("span", { class: "task-status" }, t.status === "running" ? `${pct}%` : statusLabel(t.status).replace("Rendering", "Running")),
          h("progress", { class: "task-bar", max: "100", value: String(pct), "aria-label": `${label} progress` }),
        ),
      );
    }
    this.tasksEl.replaceChildren(...items);
  }

  renderMedia() {
    const s = this.state;
    this.media.hidden = s.terminal && s.status !== "completed" && !posterUrl(s);
    const result = s.result;
    const videoUrl = s.status === "completed" || result?.url ? safeUrl(result?.url) : null;
    const poster = safeUrl(posterUrl(s));
    if (videoUrl) {
      if (this.media.dataset.state !== "video" || this.media.dataset.src !== videoUrl) {
        const video = /** @type {HTMLVideoElement} */ (
          h("video", { class: "result-video", controls: true, playsinline: true, preload: "metadata", src: videoUrl, poster: poster ?? undefined })
        );
        video.setAttribute("aria-label", `Video: ${this.promptShort()}`);
        this.applyAspect(video);
        this.media.replaceChildren(video);
        this.media.dataset.state = "video";
        this.mediaHistory.push("video");
        this.videoShownAt = Date.now();
        this.media.dataset.src = videoUrl;
        this.downloadLink.setAttribute("href", videoUrl);
        this.downloadLink.setAttribute("download", filenameOf(videoUrl));
        this.downloadLink.hidden = false;
        announce(`${this.promptShort()}: your video is ready`);
      }
    } else if (poster && this.media.dataset.state !== "poster") {
      const img = h("img", { class: "poster", src: poster, alt: `First frame of: ${this.promptShort()}` });
      this.applyAspect(img);
      this.media.replaceChildren(img, h("span", { class: "media-badge" }, "Preview"));
      this.media.dataset.state = "poster";
      this.mediaHistory.push("poster");
    } else if (!poster && !videoUrl && this.media.dataset.state === "empty") {
      this.applyAspect(/** @type {HTMLElement} */ (this.media.firstElementChild));
    }
  }

  /** @param {HTMLElement | null} el */
  applyAspect(el) {
    if (!el) return;
    const r = this.state.result;
    const a = String(this.state.options?.aspect ?? "16:9").split(":").map(Number);
    const ratio = r?.width && r?.height ? `${r.width} / ${r.height}` : a.length === 2 && a[0] && a[1] ? `${a[0]} / ${a[1]}` : "16 / 9";
    // CSSOM, not a style attribute: allowed by the page's CSP (style-src 'self').
    el.style.aspectRatio = ratio;
  }

  /** The "Check for Results" button: ask the server now and say what it found. */
  async checkNow() {
    this.checkBtn.disabled = true;
    setText(this.checkEl, "Checking…");
    try {
      /** @type {any} */
      let snap;
      if (this.client) snap = await this.client.checkNow();
      else {
        console.log(`🔍 Force checking video results for project: ${this.id}`);
        snap = await getProject(this.id);
        if (snap.result?.url) console.log(`🔍 ✅ Video found manually: ${snap.result.url}`);
        this.applySnapshot(snap);
      }
      const s = this.state;
      let msg;
      if (snap.status === "completed" && snap.result?.url) msg = "Found it! Your video is ready.";
      else if (snap.status === "completed") msg = "Finished — the video file is still being stored; checking again shortly.";
      else if (snap.status === "failed") msg = `Failed: ${snap.error?.message || this.taskErrorMessage() || "the server did not give a reason"}.`;
      else if (snap.status === "cancelled") msg = "This video was cancelled.";
      else if (snap.status === "queued")
        msg = typeof snap.queue_position === "number" ? `Still queued, position ${snap.queue_position} in line.` : "Still queued, waiting for a worker.";
      else msg = `Still rendering, ${overallPercent(s)}%.`;
      setText(this.checkEl, msg);
      if (snap.terminal && !this.client) this.onTerminal("manual");
    } catch (e) {
      setText(this.checkEl, e instanceof ApiError ? e.message : UNREACHABLE);
    } finally {
      this.checkBtn.disabled = false;
    }
  }

  async cancel() {
    this.cancelBtn.disabled = true;
    try {
      await cancelProject(this.id);
      setText(this.checkEl, "Cancelling…");
    } catch (e) {
      setText(this.checkEl, e instanceof ApiError ? e.message : UNREACHABLE);
    } finally {
      this.cancelBtn.disabled = false;
    }
  }

  async retry() {
    this.retryBtn.disabled = true;
    try {
      const snap = await retryProject(this.id);
      setText(this.checkEl, "Starting again…");
      this.errorEl.hidden = true;
      if (snap && snap.id === this.id && typeof snap.last_seq === "number") this.applySnapshot(snap);
      else await this.refresh();
      if (!this.state.terminal) {
        this.coord?.release();
        this.coord = null;
        this.join();
      } else {
        // The snapshot may still show the old terminal status; the log resumes from our cursor.
        this.state.terminal = false;
        this.state.status = "queued";
        this.render();
        this.join();
      }
    } catch (e) {
      setText(this.checkEl, e instanceof ApiError ? e.message : UNREACHABLE);
    } finally {
      this.retryBtn.disabled = false;
    }
  }

  gone() {
    this.state.status = "failed";
    this.state.terminal = true;
    this.state.error = { message: "This project no longer exists on the server (it may have been deleted)." };
    removeActive(this.id);
    this.render();
    this.retryBtn.hidden = true;
    this.setChip({ transport: null, state: "closed", reason: "Not found" });
  }

  dismiss() {
    this.destroy();
    removeActive(this.id);
    this.opts.onDismiss(this);
  }

  /** Reconnect with new settings (the preference changed). */
  reconnect() {
    if (this.role === "leader" && this.client && !this.state.terminal) {
      this.client.stop();
      this.client = null;
      this.lead();
    }
  }

  destroy() {
    this.destroyed = true;
    this.client?.stop();
    this.client = null;
    this.coord?.release();
    this.coord = null;
    this.el.remove();
  }
}

/** @param {string} url */
function filenameOf(url) {
  try {
    return decodeURIComponent(new URL(url, location.href).pathname.split("/").pop() || "framecast.mp4");
  } catch {
    return "framecast.mp4";
  }
}
