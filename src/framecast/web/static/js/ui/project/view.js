// One project on the page: its card, its state, and the delivery that keeps both up to date.

import { applyEvent, emptyState, fromSnapshot, statusLabel } from "../../state.js";
import { removeActive } from "../../store.js";
import { announce, setText } from "../dom.js";
import { cancel, checkNow, retry } from "./actions.js";
import { buildCard, renderCard } from "./card.js";
import { renderChip } from "./chip.js";
import { renderMedia } from "./media.js";
import { renderProgress } from "./progress.js";
import { attach, join, onTerminal, reconnect, refresh } from "./sync.js";

/**
 * @typedef {Object} ViewOptions
 * @property {() => import("../../store.js").Settings} settings
 * @property {(view: ProjectView) => void} onDismiss
 * @property {(view: ProjectView) => void} onCompleted
 * @property {() => void} [onTrouble] the connection is failing (a signed-out session looks like this to a stream)
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
    /** @type {import("../../delivery/controller.js").DeliveryClient | null} set while this tab leads the delivery */
    this.client = null;
    /** @type {import("../../tabs.js").Coordination | null} */
    this.coord = null;
    /** Seqs applied from events, in order: the e2e tests check there is no gap and no repeat. */
    /** @type {number[]} */
    this.applied = [];
    /** @type {import("../../delivery/transports.js").TransportInfo[]} */
    this.transportHistory = [];
    /** What the media box showed, in order ("poster", "video"), and when the video appeared (epoch ms). */
    /** @type {import("./media.js").MediaLog} */
    this.mediaLog = { history: [], videoShownAt: 0 };
    this.role = "none";
    this.deliveredSent = false;
    this.announcedStep = -1;
    this.renderQueued = false;
    this.attachTries = 0;
    this.destroyed = false;
    this.ui = buildCard(id, {
      checkNow: () => this.checkNow(),
      cancel: () => cancel(this),
      retry: () => retry(this),
      dismiss: () => this.dismiss(),
    });
    this.el = this.ui.el;
  }

  get mediaHistory() {
    return this.mediaLog.history;
  }

  get videoShownAt() {
    return this.mediaLog.videoShownAt;
  }

  /** Fetch the snapshot, draw it, then take part in delivery (as the leader tab or a follower). */
  attach() {
    return attach(this);
  }

  /** Take part in delivering this project's events: one tab connects, the others listen. */
  join() {
    join(this);
  }

  /** Read the snapshot now (to catch up, or after a retry). */
  refresh() {
    return refresh(this);
  }

  /** @param {string} how what told us: a transport's name, "manual", "snapshot" or "tab" */
  onTerminal(how) {
    return onTerminal(this, how);
  }

  /** Reconnect with new settings (the preference changed). */
  reconnect() {
    reconnect(this);
  }

  /** @param {any} snap */
  applySnapshot(snap) {
    if (!snap || String(snap.id) !== this.id) return;
    if (Number(snap.last_seq ?? 0) < this.state.lastSeq) return; // older than what we have already shown
    this.state = fromSnapshot(snap);
    this.client?.cursor.advanceTo(this.state.lastSeq);
    this.scheduleRender();
  }

  /** @param {import("../../delivery/envelope.js").Envelope} env */
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

  /** @param {import("../../delivery/transports.js").TransportInfo} info */
  setChip(info) {
    this.transportHistory.push(info);
    renderChip(this.ui, info);
    if (info.state === "waiting") this.opts.onTrouble?.();
    if (info.state === "waiting" && (info.failures ?? 0) >= 2) {
      this.showNotice("Can't reach the Framecast server right now. Your video keeps rendering there if it is running; this page reconnects by itself and picks up where it left off.");
    } else if (info.state === "live") this.hideNotice();
  }

  /** @param {string} text */
  showNotice(text) {
    setText(this.ui.noticeEl, text);
    this.ui.noticeEl.hidden = false;
  }

  hideNotice() {
    this.ui.noticeEl.hidden = true;
  }

  promptShort() {
    const p = this.state.prompt || "Your video";
    return p.length > 60 ? `${p.slice(0, 57)}…` : p;
  }

  render() {
    if (this.destroyed) return;
    const s = this.state;
    renderCard(this.ui, s);
    const { percent, step } = renderProgress(this.ui, s);
    if (step !== this.announcedStep && !s.terminal && step > 0) announce(`${this.promptShort()}: ${percent}%`);
    this.announcedStep = step;
    renderMedia(this.ui, s, this.promptShort(), this.mediaLog);
  }

  checkNow() {
    return checkNow(this);
  }

  gone() {
    this.state.status = "failed";
    this.state.terminal = true;
    this.state.error = { message: "This project no longer exists on the server (it may have been deleted)." };
    removeActive(this.id);
    this.render();
    this.ui.retryBtn.hidden = true;
    this.setChip({ transport: null, state: "closed", reason: "Not found" });
  }

  dismiss() {
    this.destroy();
    removeActive(this.id);
    this.opts.onDismiss(this);
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
