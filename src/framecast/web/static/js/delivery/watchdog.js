// The two timers of a stream: no `hello` within the connect timeout, or a live stream silent for too long.

/**
 * The clock the delivery client runs on: the global timers in the page, a fake clock in tests.
 * @typedef {Object} Timers
 * @property {(fn: () => void, ms: number) => unknown} setTimeout
 * @property {(id: unknown) => void} clearTimeout
 */

/**
 * @typedef {Object} Watchdog
 * @property {() => void} hello     the stream is live: from now on, silence means it dropped
 * @property {() => void} activity  a message or ping arrived
 * @property {() => void} clear
 * @property {() => boolean} isLive
 */

/**
 * @param {{connectTimeoutMs: number, stallTimeoutMs: number, onSilent: () => void, onStall: () => void, timers: Timers}} opts
 *   onSilent: no hello within connectTimeoutMs; onStall: live, then nothing (not even a ping) for stallTimeoutMs
 * @returns {Watchdog}
 */
export function watchdog({ connectTimeoutMs, stallTimeoutMs, onSilent, onStall, timers }) {
  let live = false;
  /** @type {unknown} */
  let timer = timers.setTimeout(() => {
    if (!live) onSilent();
  }, connectTimeoutMs);
  const restartStall = () => {
    if (timer) timers.clearTimeout(timer);
    timer = timers.setTimeout(onStall, stallTimeoutMs);
  };
  return {
    hello: () => {
      live = true;
      restartStall();
    },
    activity: () => {
      if (live) restartStall();
    },
    clear: () => {
      if (timer) timers.clearTimeout(timer);
      timer = null;
    },
    isLive: () => live,
  };
}
