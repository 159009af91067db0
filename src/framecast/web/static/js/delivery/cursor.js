// What one delivery client has handed on: the last seq (the resume point and the duplicate filter) and what
// those events said about the run (are all tasks done, has the result arrived).

/** @typedef {import("./envelope.js").Envelope} Envelope */

export class Cursor {
  /** @param {number} [after] resume after this seq (0: the whole log) */
  constructor(after = 0) {
    /** Highest seq handed on; every (re)connection asks for the events after it. */
    this.lastSeq = after;
    /** @type {Map<string, boolean>} task id -> terminal, to notice "tasks done but no result yet" */
    this.tasks = new Map();
    this.resultUrl = "";
  }

  /**
   * Take a persisted event if it is new and move past it. An event at or below the cursor was delivered
   * already (a reconnect, a transport switch or a second source repeated it); one without a seq is not
   * persisted (hello, ping) and never moves the cursor.
   * @param {Envelope} env
   * @returns {boolean} true when the event is new and should be handed on
   */
  accept(env) {
    if (typeof env.seq !== "number" || env.seq <= this.lastSeq) return false;
    this.lastSeq = env.seq;
    const d = env.data ?? {};
    if (env.type === "task_status" && d.task_id) this.tasks.set(d.task_id, Boolean(d.terminal));
    if (env.type === "render_result" && d.object?.url) this.resultUrl = d.object.url;
    return true;
  }

  /**
   * Something else (a snapshot) covers everything up to `seq`: never move backwards.
   * @param {number | null | undefined} seq
   */
  advanceTo(seq) {
    this.lastSeq = Math.max(this.lastSeq, Number(seq ?? 0) || 0);
  }

  /** Every task seen so far is terminal (false before any task was seen). */
  allTasksDone() {
    if (this.tasks.size === 0) return false;
    for (const done of this.tasks.values()) if (!done) return false;
    return true;
  }

  /** The product note's edge case: every task finished but the result is not in the log yet. */
  awaitingResult() {
    return this.allTasksDone() && !this.resultUrl;
  }
}
