// Waiting with a deadline. Tests never sleep to synchronise: they wait for the
// event they expect and fail with a message naming it when it does not come.

/** Default deadline for one wait, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 5000;

// How often a predicate is re-evaluated. Short, because the events we wait
// for (frames on loopback) usually arrive within a millisecond or two.
const POLL_INTERVAL_MS = 10;

/** Raised when a wait reaches its deadline. */
export class WaitTimeoutError extends Error {
  constructor(message) {
    super(message);
    this.name = "WaitTimeoutError";
  }
}

function describe(what) {
  if (typeof what !== "function") return String(what);
  try {
    return String(what());
  } catch (err) {
    return `<description failed: ${err && err.message}>`;
  }
}

function timeoutError(timeout, what) {
  return new WaitTimeoutError(`timed out after ${timeout} ms waiting for ${describe(what)}`);
}

/**
 * Waits for `target` with a deadline.
 *
 * - `target` a promise (or thenable): resolves with its value, or rejects with
 *   its error, or with a WaitTimeoutError at the deadline.
 * - `target` a function: called until it returns (or resolves to) a truthy
 *   value, which is returned. If it throws, the wait fails with that error.
 *
 * `what` names the awaited event in the timeout message. It may be a function,
 * evaluated when the deadline passes, so the message can show the state then
 * (e.g. `() => \`second join ok (state=${channel.state})\``).
 */
export function waitFor(target, { timeout = DEFAULT_TIMEOUT_MS, what = "condition" } = {}) {
  if (target && typeof target.then === "function") {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(timeoutError(timeout, what)), timeout);
      Promise.resolve(target).then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }
  if (typeof target !== "function") {
    return Promise.reject(new TypeError("waitFor expects a promise or a predicate function"));
  }
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeout;
    const check = async () => {
      let value;
      try {
        value = await target();
      } catch (err) {
        reject(err);
        return;
      }
      if (value) {
        resolve(value);
      } else if (Date.now() >= deadline) {
        reject(timeoutError(timeout, what));
      } else {
        setTimeout(check, POLL_INTERVAL_MS);
      }
    };
    check();
  });
}
