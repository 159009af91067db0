// A project card's progress: the overall bar, percent and time left, the queue line, and one row per task.

import { etaSeconds, formatEta, overallPercent, statusLabel, taskLabel } from "../../state.js";
import { h, setText } from "../dom.js";

/**
 * The queue line, or "" when the project is not queued.
 * @param {import("../../state.js").ProjectState} s
 */
export function queueText(s) {
  if (s.status !== "queued") return "";
  if (s.queuePosition == null) return "Queued — waiting for a worker";
  return s.queuePosition <= 1 ? "Queued — next in line" : `Queued — position ${s.queuePosition} in line`;
}

/**
 * Redraw the progress area. Returns the quarter (0..4) the project has reached, so the caller can announce
 * each new quarter once.
 * @param {import("./card.js").CardParts} p
 * @param {import("../../state.js").ProjectState} s
 * @returns {{percent: number, step: number}}
 */
export function renderProgress(p, s) {
  const percent = overallPercent(s);
  p.bar.value = percent;
  setText(p.percentEl, `${percent}%`);
  setText(p.etaEl, s.terminal ? "" : formatEta(etaSeconds(s)));
  const queue = queueText(s);
  if (queue) setText(p.queueEl, queue);
  p.queueEl.hidden = !queue;
  renderTasks(p.tasksEl, s);
  return { percent, step: s.terminal ? 4 : Math.floor(percent / 25) };
}

/**
 * @param {HTMLElement} list
 * @param {import("../../state.js").ProjectState} s
 */
function renderTasks(list, s) {
  const items = [];
  let chunk = 0;
  for (const t of s.tasks.values()) {
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
  list.replaceChildren(...items);
}
