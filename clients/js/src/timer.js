// Retry timers with backoff. The defaults add jitter so that the clients of a
// restarted server do not all come back in the same millisecond.

/** Reconnect delays of phoenix.js (ms by attempt), then `RECONNECT_MAX_MS`. */
export const RECONNECT_STEPS_MS = Object.freeze([10, 50, 100, 150, 200, 250, 500, 1000, 2000]);
export const RECONNECT_MAX_MS = 5000;
/** Rejoin delays of phoenix.js (ms by attempt), then `REJOIN_MAX_MS`. */
export const REJOIN_STEPS_MS = Object.freeze([1000, 2000, 5000]);
export const REJOIN_MAX_MS = 10000;
/** Default jitter: each delay is drawn uniformly from ±50 % of its step. */
export const DEFAULT_JITTER = 0.5;

/**
 * Builds a `(tries) => ms` function: `steps[tries - 1]`, or `max` past the
 * end, spread uniformly over `[step × (1 − jitter), step × (1 + jitter))`.
 * `jitter` is a fraction in [0, 1]; 0 gives the bare steps. `random` is
 * injectable for tests.
 */
export function backoff(steps, { max = steps[steps.length - 1], jitter = DEFAULT_JITTER, random = Math.random } = {}) {
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`jitter must be within [0, 1], got ${jitter}`);
  return (tries) => {
    const step = tries >= 1 && tries <= steps.length ? steps[tries - 1] : max;
    return Math.round(step * (1 - jitter + 2 * jitter * random()));
  };
}

/**
 * Calls `callback` after `timerCalc(tries)` ms, counting attempts until
 * `reset()`. Scheduling again replaces a pending call.
 */
export class Timer {
  constructor(callback, timerCalc) {
    this.callback = callback;
    this.timerCalc = timerCalc;
    this.timer = null;
    this.tries = 0;
  }

  reset() {
    this.tries = 0;
    clearTimeout(this.timer);
    this.timer = null;
  }

  scheduleTimeout() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.tries += 1;
      this.callback();
    }, this.timerCalc(this.tries + 1));
  }
}
