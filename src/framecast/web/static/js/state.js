// A project's state on the page: built from the snapshot, then advanced by events in seq order.

/**
 * @typedef {Object} TaskState
 * @property {string} id
 * @property {string} kind
 * @property {string} status
 * @property {boolean} terminal
 * @property {number} progress 0..1
 * @property {number} attempt
 * @property {{code?: string, message?: string} | null} error
 * @property {number | null} etaS
 */

/**
 * @typedef {Object} ProjectState
 * @property {string} id
 * @property {string} status
 * @property {boolean} terminal
 * @property {string} prompt
 * @property {Object<string, any>} options
 * @property {Map<string, TaskState>} tasks
 * @property {Map<string, any>} assets
 * @property {any} result
 * @property {{code?: string, message?: string} | null} error
 * @property {number} lastSeq
 * @property {number | null} queuePosition
 * @property {string | null} deliveredAt
 * @property {string | null} createdAt
 */

/** @param {string} id @returns {ProjectState} */
export function emptyState(id) {
  return {
    id,
    status: "queued",
    terminal: false,
    prompt: "",
    options: {},
    tasks: new Map(),
    assets: new Map(),
    result: null,
    error: null,
    lastSeq: 0,
    queuePosition: null,
    deliveredAt: null,
    createdAt: null,
  };
}

/**
 * @param {any} t
 * @param {TaskState} [old]
 * @returns {TaskState}
 */
function task(t, old) {
  return {
    id: String(t.id ?? t.task_id),
    kind: String(t.kind ?? old?.kind ?? "task"),
    status: String(t.status ?? old?.status ?? "queued"),
    terminal: Boolean(t.terminal ?? old?.terminal),
    progress: Number(t.progress ?? old?.progress ?? 0),
    attempt: Number(t.attempt ?? old?.attempt ?? 1),
    error: t.error ?? null,
    etaS: old?.etaS ?? null,
  };
}

/**
 * Replace the state with a snapshot (the full truth as of snap.last_seq).
 * @param {any} snap
 * @returns {ProjectState}
 */
export function fromSnapshot(snap) {
  const s = emptyState(String(snap.id));
  s.status = String(snap.status ?? "queued");
  s.terminal = Boolean(snap.terminal);
  s.prompt = typeof snap.prompt === "string" ? snap.prompt : "";
  s.options = snap.options ?? {};
  for (const t of snap.tasks ?? []) s.tasks.set(String(t.id), task(t));
  for (const a of snap.assets ?? []) s.assets.set(String(a.id), a);
  s.result = snap.result ?? null;
  s.error = snap.error ?? null;
  s.lastSeq = Number(snap.last_seq ?? 0);
  s.queuePosition = typeof snap.queue_position === "number" ? snap.queue_position : null;
  s.deliveredAt = snap.delivered_at ?? null;
  s.createdAt = snap.created_at ?? null;
  return s;
}

/**
 * Apply one persisted event (already de-duplicated by the delivery client).
 * @param {ProjectState} s
 * @param {import("./delivery/envelope.js").Envelope} env
 */
export function applyEvent(s, env) {
  const d = env.data ?? {};
  if (typeof env.seq === "number") s.lastSeq = Math.max(s.lastSeq, env.seq);
  switch (env.type) {
    case "task_status": {
      const old = s.tasks.get(d.task_id);
      let progress = old?.progress ?? 0;
      if (d.status === "completed") progress = 1;
      else if (d.status === "queued" || (old && d.attempt != null && d.attempt !== old.attempt)) progress = 0;
      const t = task({ ...d, id: d.task_id, progress }, old);
      if (t.terminal) t.etaS = null;
      s.tasks.set(t.id, t);
      if (s.status === "queued" && d.status === "running") s.status = "running";
      break;
    }
    case "render_progress": {
      const old = s.tasks.get(d.task_id);
      const t = task({ id: d.task_id, progress: d.progress, status: old?.status ?? "running" }, old);
      t.etaS = typeof d.eta_s === "number" ? d.eta_s : null;
      s.tasks.set(t.id, t);
      if (s.status === "queued") s.status = "running";
      break;
    }
    case "file":
      if (d.asset?.id) s.assets.set(String(d.asset.id), d.asset);
      break;
    case "render_result":
      s.result = d.object ?? null;
      break;
    case "project_status":
      s.status = String(d.status ?? s.status);
      s.terminal = Boolean(d.terminal);
      s.error = d.error ?? null;
      if (s.status !== "queued") s.queuePosition = null;
      if (s.status === "queued" && !s.terminal) {
        // A retry starts a new run in the same log.
        s.result = null;
      }
      break;
    default:
      break;
  }
}

/** Overall progress 0..100. @param {ProjectState} s */
export function overallPercent(s) {
  if (s.status === "completed") return 100;
  const tasks = [...s.tasks.values()];
  if (!tasks.length) return 0;
  // Rendering dominates the wall time, so render tasks weigh more than planning or the poster.
  let total = 0;
  let done = 0;
  for (const t of tasks) {
    const w = t.kind.startsWith("render") ? 4 : 1;
    total += w;
    done += w * (t.status === "completed" ? 1 : Math.max(0, Math.min(1, t.progress)));
  }
  return Math.min(99, Math.floor((100 * done) / total));
}

/** Seconds left, from the render tasks' own estimates. @param {ProjectState} s @returns {number | null} */
export function etaSeconds(s) {
  let eta = null;
  for (const t of s.tasks.values()) {
    if (!t.terminal && typeof t.etaS === "number") eta = Math.max(eta ?? 0, t.etaS);
  }
  return eta;
}

/** The poster asset's URL, if one exists yet. @param {ProjectState} s @returns {string | null} */
export function posterUrl(s) {
  if (s.result?.poster_url) return s.result.poster_url;
  for (const a of s.assets.values()) if (a.kind === "poster" && a.url) return a.url;
  return null;
}

/** @param {string} kind @param {number} index */
export function taskLabel(kind, index) {
  const labels = /** @type {Object<string, string>} */ ({
    plan: "Planning",
    narration: "Voiceover",
    audio: "Soundtrack",
    render: "Rendering",
    render_chunk: "Rendering part",
    compose: "Putting it together",
    poster: "Poster",
    spritesheet: "Thumbnails",
  });
  const label = labels[kind] ?? kind.replace(/_/g, " ");
  return kind === "render_chunk" ? `${label} ${index}` : label;
}

/** @param {string} status */
export function statusLabel(status) {
  return (
    /** @type {Object<string, string>} */ ({
      queued: "Queued",
      running: "Rendering",
      completed: "Ready",
      failed: "Failed",
      cancelled: "Cancelled",
    })[status] ?? status
  );
}

/** @param {number | null} s */
export function formatEta(s) {
  if (s == null || !Number.isFinite(s)) return "";
  if (s < 1) return "almost done";
  if (s < 60) return `about ${Math.ceil(s)} s left`;
  const m = Math.floor(s / 60);
  return `about ${m} min ${Math.round(s % 60)} s left`;
}

/** @param {number} s */
export function formatDuration(s) {
  if (!Number.isFinite(s)) return "";
  const total = Math.round(s);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

/** @param {string | null} iso */
export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const diff = (Date.now() - d.getTime()) / 1000;
  if (diff < 60) return "just now";
  if (diff < 3600) return `${Math.floor(diff / 60)} min ago`;
  if (diff < 86400) return `${Math.floor(diff / 3600)} h ago`;
  return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}
