// What the card's buttons do: Check for Results, Cancel and Retry.

import { ApiError, UNREACHABLE, cancelProject, getProject, retryProject } from "../../api.js";
import { overallPercent } from "../../state.js";
import { setText } from "../dom.js";
import { taskErrorMessage } from "./card.js";

/** @typedef {import("./view.js").ProjectView} ProjectView */

/**
 * What "Check for Results" tells the person about a snapshot.
 * @param {any} snap
 * @param {import("../../state.js").ProjectState} s the page's state after applying it
 */
export function checkMessage(snap, s) {
  if (snap.status === "completed" && snap.result?.url) return "Found it! Your video is ready.";
  if (snap.status === "completed") return "Finished — the video file is still being stored; checking again shortly.";
  if (snap.status === "failed") return `Failed: ${snap.error?.message || taskErrorMessage(s) || "the server did not give a reason"}.`;
  if (snap.status === "cancelled") return "This video was cancelled.";
  if (snap.status === "queued") {
    return typeof snap.queue_position === "number" ? `Still queued, position ${snap.queue_position} in line.` : "Still queued, waiting for a worker.";
  }
  return `Still rendering, ${overallPercent(s)}%.`;
}

/** @param {unknown} e */
const sayError = (e) => (e instanceof ApiError ? e.message : UNREACHABLE);

/**
 * Ask the server now and say what it found. The leader tab asks through its delivery client (which then
 * finishes if the project did); a follower or a finished card reads the snapshot itself.
 * @param {ProjectView} view
 */
export async function checkNow(view) {
  const { checkBtn, checkEl } = view.ui;
  checkBtn.disabled = true;
  setText(checkEl, "Checking…");
  try {
    /** @type {any} */
    let snap;
    if (view.client) snap = await view.client.checkNow();
    else {
      console.log(`🔍 Force checking video results for project: ${view.id}`);
      snap = await getProject(view.id);
      if (snap.result?.url) console.log(`🔍 ✅ Video found manually: ${snap.result.url}`);
      view.applySnapshot(snap);
    }
    setText(checkEl, checkMessage(snap, view.state));
    if (snap.terminal && !view.client) view.onTerminal("manual");
  } catch (e) {
    setText(checkEl, sayError(e));
  } finally {
    checkBtn.disabled = false;
  }
}

/** @param {ProjectView} view */
export async function cancel(view) {
  const { cancelBtn, checkEl } = view.ui;
  cancelBtn.disabled = true;
  try {
    await cancelProject(view.id);
    setText(checkEl, "Cancelling…");
  } catch (e) {
    setText(checkEl, sayError(e));
  } finally {
    cancelBtn.disabled = false;
  }
}

/**
 * Start a failed or cancelled project again; the same log continues after our cursor.
 * @param {ProjectView} view
 */
export async function retry(view) {
  const { retryBtn, checkEl, errorEl } = view.ui;
  retryBtn.disabled = true;
  try {
    const snap = await retryProject(view.id);
    setText(checkEl, "Starting again…");
    errorEl.hidden = true;
    if (snap && snap.id === view.id && typeof snap.last_seq === "number") view.applySnapshot(snap);
    else await view.refresh();
    if (!view.state.terminal) {
      view.coord?.release();
      view.coord = null;
      view.join();
    } else {
      // The snapshot may still show the old terminal status; the log resumes from our cursor.
      view.state.terminal = false;
      view.state.status = "queued";
      view.render();
      view.join();
    }
  } catch (e) {
    setText(checkEl, sayError(e));
  } finally {
    retryBtn.disabled = false;
  }
}
