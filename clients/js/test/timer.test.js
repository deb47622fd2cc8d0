// Backoff with jitter, and the retry Timer.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Timer, backoff } from "../src/embercast.js";
import { RECONNECT_MAX_MS, RECONNECT_STEPS_MS, REJOIN_MAX_MS, REJOIN_STEPS_MS } from "../src/timer.js";

test("without jitter the defaults are phoenix.js's schedules", () => {
  const reconnect = backoff(RECONNECT_STEPS_MS, { max: RECONNECT_MAX_MS, jitter: 0 });
  assert.deepEqual(
    Array.from({ length: 12 }, (_, i) => reconnect(i + 1)),
    [10, 50, 100, 150, 200, 250, 500, 1000, 2000, 5000, 5000, 5000],
  );
  const rejoin = backoff(REJOIN_STEPS_MS, { max: REJOIN_MAX_MS, jitter: 0 });
  assert.deepEqual([1, 2, 3, 4, 5].map(rejoin), [1000, 2000, 5000, 10000, 10000]);
});

test("jitter spreads each delay over ±jitter of its step", () => {
  const at = (r) => backoff([100, 1000], { max: 5000, jitter: 0.5, random: () => r });
  assert.deepEqual([1, 2, 3].map(at(0)), [50, 500, 2500]);
  assert.deepEqual([1, 2, 3].map(at(0.5)), [100, 1000, 5000]);
  assert.deepEqual([1, 2, 3].map(at(0.999999)), [150, 1500, 7500]);
});

test("default jitter: many clients do not come back at the same moment", () => {
  const delay = backoff(RECONNECT_STEPS_MS, { max: RECONNECT_MAX_MS });
  const delays = Array.from({ length: 1000 }, () => delay(20));
  assert.ok(delays.every((d) => d >= 2500 && d <= 7500), "within ±50 % of 5 s");
  assert.ok(new Set(delays).size > 500, `spread: ${new Set(delays).size} distinct delays of 1000`);
  const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
  assert.ok(Math.abs(mean - 5000) < 250, `mean ${mean} close to the step`);
});

test("jitter outside [0, 1] is refused", () => {
  assert.throws(() => backoff([1], { jitter: 1.5 }), RangeError);
  assert.throws(() => backoff([1], { jitter: -0.1 }), RangeError);
});

test("Timer counts tries until reset and asks for the delay of each", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const asked = [];
  let calls = 0;
  const timer = new Timer(() => (calls += 1), (tries) => {
    asked.push(tries);
    return tries * 100;
  });
  timer.scheduleTimeout();
  t.mock.timers.tick(99);
  assert.equal(calls, 0);
  t.mock.timers.tick(1);
  assert.equal(calls, 1);
  timer.scheduleTimeout();
  t.mock.timers.tick(200);
  assert.equal(calls, 2);
  // Scheduling again replaces the pending call.
  timer.scheduleTimeout();
  timer.scheduleTimeout();
  t.mock.timers.tick(300);
  assert.equal(calls, 3);
  timer.reset();
  timer.scheduleTimeout();
  t.mock.timers.tick(100);
  assert.equal(calls, 4);
  assert.deepEqual(asked, [1, 2, 3, 3, 1]);
  // reset cancels a pending call.
  timer.scheduleTimeout();
  timer.reset();
  t.mock.timers.tick(10_000);
  assert.equal(calls, 4);
});
