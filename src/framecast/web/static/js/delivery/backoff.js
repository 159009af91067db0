// How long to wait before trying again: capped doubling with jitter, and the same delay said in seconds.

/**
 * Delay before reconnect number `attempt` (0-based): capped doubling with "equal jitter", so a crowd of
 * clients that lost the server together does not come back in one burst. The delay lies between half and
 * all of its step: 0.5 s step -> 250..500 ms, then 1 s, 2 s … up to `capMs`.
 *
 *   backoffDelay(0)                            // 250..500
 *   backoffDelay(3, {random: () => 1})         // 4000
 *   backoffDelay(9, {random: seededRandom(7)}) // 7500..15000, the same value on every run
 *
 * @param {number} attempt
 * @param {{baseMs?: number, capMs?: number, random?: () => number}} [opts] `random` returns 0 <= x < 1
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, { baseMs = 500, capMs = 15_000, random = Math.random } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 20));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * A small seeded generator (mulberry32) with Math.random's contract, for jitter that repeats: tests, and
 * anyone who wants to replay a reconnect story.
 * @param {number} seed
 * @returns {() => number} 0 <= x < 1
 */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Milliseconds as a person reads them: 2000 -> "2", 1500 -> "1.5", 730 -> "0.7".
 * @param {number} ms
 */
export function seconds(ms) {
  const s = ms / 1000;
  return Number.isInteger(s) ? String(s) : s.toFixed(1);
}
