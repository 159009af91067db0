// Which engines the page offers (GET /api/engines) and what each accepts: no DOM here, so tests/js runs it.

/**
 * One engine as GET /api/engines describes it.
 * @typedef {{name: string, label: string, description: string, min_duration_s: number, max_duration_s: number,
 *   durations_s: number[] | null, aspects: string[], resolutions: string[], fps: number[],
 *   accepts_timeline: boolean, voiceover: boolean, audio: boolean}} EngineInfo
 */

/**
 * The picker is shown only when there is a choice: more than one engine is configured.
 * @param {EngineInfo[]} engines
 */
export function showPicker(engines) {
  return engines.length > 1;
}

/**
 * What the form may offer for one engine: the allowed values of each select, the duration range and
 * whether the voiceover toggle applies. `null` (no engine list yet) allows everything the form has.
 * @param {EngineInfo | null} info
 * @returns {{aspect: string[] | null, resolution: string[] | null, fps: string[] | null, durations: number[] | null,
 *   minDuration: number, maxDuration: number, voiceover: boolean}}
 */
export function allowedOptions(info) {
  if (!info) {
    return { aspect: null, resolution: null, fps: null, durations: null, minDuration: 1, maxDuration: 600, voiceover: true };
  }
  return {
    aspect: [...info.aspects],
    resolution: [...info.resolutions],
    fps: info.fps.map(String),
    durations: info.durations_s ? [...info.durations_s] : null,
    minDuration: info.min_duration_s,
    maxDuration: info.max_duration_s,
    voiceover: info.voiceover,
  };
}

/**
 * A value the engine accepts: the current one when it may stay, else the allowed value nearest the
 * current one's position (the first when nothing matches).
 * @param {string} current
 * @param {string[] | null} allowed
 */
export function keepOrFirst(current, allowed) {
  if (!allowed || allowed.includes(current)) return current;
  return allowed[0] ?? current;
}

/**
 * A duration the engine can make: clamped to its range, or the nearest of its exact durations.
 * @param {number} seconds
 * @param {ReturnType<typeof allowedOptions>} allowed
 */
export function fitDuration(seconds, allowed) {
  if (allowed.durations && allowed.durations.length) {
    return allowed.durations.reduce((best, d) => (Math.abs(d - seconds) < Math.abs(best - seconds) ? d : best));
  }
  if (!Number.isFinite(seconds)) return allowed.minDuration;
  return Math.min(allowed.maxDuration, Math.max(allowed.minDuration, seconds));
}
