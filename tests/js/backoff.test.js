// Reconnect backoff: capped doubling with equal jitter, and a seedable jitter source.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { backoffDelay, seconds, seededRandom } from "../../src/framecast/web/static/js/delivery/backoff.js";

const lowest = () => 0;
const highest = () => 1 - Number.EPSILON;

describe("backoffDelay", () => {
  test("doubles from the base: the lowest jitter gives half of each step", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, { random: lowest })),
      [250, 500, 1000, 2000, 4000, 7500],
    );
  });

  test("the highest jitter gives the whole step, and the step stops at the cap", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 12].map((n) => backoffDelay(n, { random: highest })),
      [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000],
    );
  });

  test("every delay lies between half and all of its capped step", () => {
    const random = seededRandom(1);
    for (let attempt = 0; attempt < 30; attempt++) {
      const step = Math.min(15_000, 500 * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt, { random });
        assert.ok(d >= step / 2 && d <= step, `attempt ${attempt}: ${d} outside [${step / 2}, ${step}]`);
      }
    }
  });

  test("jitter spreads a crowd: the same attempt does not give one delay", () => {
    const random = seededRandom(2);
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelay(4, { random })));
    assert.ok(delays.size > 10, `only ${delays.size} distinct delays`);
  });

  test("base and cap are options", () => {
    assert.equal(backoffDelay(0, { baseMs: 100, capMs: 1000, random: highest }), 100);
    assert.equal(backoffDelay(3, { baseMs: 100, capMs: 1000, random: highest }), 800);
    assert.equal(backoffDelay(4, { baseMs: 100, capMs: 1000, random: highest }), 1000);
    assert.equal(backoffDelay(4, { baseMs: 100, capMs: 1000, random: lowest }), 500);
  });

  test("a huge attempt count stays at the cap (no Infinity, no NaN)", () => {
    assert.equal(backoffDelay(10_000, { random: highest }), 15_000);
    assert.equal(backoffDelay(Number.MAX_SAFE_INTEGER, { random: lowest }), 7_500);
  });
});

describe("seededRandom", () => {
  test("the same seed repeats the same sequence, so a reconnect story can be replayed", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const seqA = Array.from({ length: 10 }, a);
    assert.deepEqual(Array.from({ length: 10 }, b), seqA);
    assert.deepEqual(
      [0, 1, 2, 3].map((n) => backoffDelay(n, { random: seededRandom(7) })),
      [0, 1, 2, 3].map((n) => backoffDelay(n, { random: seededRandom(7) })),
    );
  });

  test("different seeds differ, and every value is in [0, 1)", () => {
    const a = Array.from({ length: 10 }, seededRandom(1));
    const b = Array.from({ length: 10 }, seededRandom(2));
    assert.notDeepEqual(a, b);
    for (const x of Array.from({ length: 1000 }, seededRandom(3))) assert.ok(x >= 0 && x < 1, String(x));
  });
});

test("seconds() says a delay the way the chip does", () => {
  assert.equal(seconds(2000), "2");
  assert.equal(seconds(1500), "1.5");
  assert.equal(seconds(700), "0.7");
  assert.equal(seconds(10_000), "10");
});
