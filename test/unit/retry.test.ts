import { describe, expect, it } from "vitest";
import type { Failure, RetryPolicy } from "../../src/engine/model.js";
import { backoffMs, decideRetry, MAX_RETURNS } from "../../src/engine/retry.js";

const policy: RetryPolicy = {
  maxAttempts: 6,
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maxIntervalMs: 5000,
  nonRetryableErrors: ["VALIDATION"],
};
const boom: Failure = { message: "503", type: "HTTP_ERROR" };

describe("backoffMs", () => {
  it("grows geometrically and stops at max_interval", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(policy, n))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it("rounds fractional backoffs to whole milliseconds", () => {
    const p = { ...policy, initialIntervalMs: 200, backoffCoefficient: 1.5, maxIntervalMs: 10_000 };
    expect([1, 2, 3, 4].map((n) => backoffMs(p, n))).toEqual([200, 300, 450, 675]);
  });

  it("keeps a constant interval with coefficient 1 and survives huge attempts", () => {
    expect(backoffMs({ ...policy, backoffCoefficient: 1 }, 7)).toBe(1000);
    expect(backoffMs(policy, 10_000)).toBe(5000);
    expect(backoffMs(policy, 0)).toBe(1000);
  });
});

describe("decideRetry", () => {
  it("uses the exact backoff when random is 0", () => {
    const delays = [1, 2, 3, 4, 5].map((n) => decideRetry(policy, n, boom, 0));
    expect(delays).toEqual([1000, 2000, 4000, 5000, 5000].map((delayMs) => ({ retry: true, delayMs })));
  });

  it("only adds jitter, up to 20 %, never beyond max_interval * 1.2", () => {
    for (let attempt = 1; attempt <= 5; attempt++) {
      const base = backoffMs(policy, attempt);
      for (let i = 0; i < 100; i++) {
        const d = decideRetry(policy, attempt, boom, i / 100);
        if (!d.retry) throw new Error("expected a retry");
        expect(d.delayMs).toBeGreaterThanOrEqual(base);
        expect(d.delayMs).toBeLessThanOrEqual(base * 1.2);
        expect(d.delayMs).toBeLessThanOrEqual(policy.maxIntervalMs * 1.2);
        expect(Number.isInteger(d.delayMs)).toBe(true);
      }
    }
    expect(decideRetry(policy, 1, boom, 0.5)).toEqual({ retry: true, delayMs: 1100 });
    expect(decideRetry(policy, 5, boom, 0.999_999)).toEqual({ retry: true, delayMs: 5999 });
  });

  it("clamps a random number outside [0, 1)", () => {
    expect(decideRetry(policy, 1, boom, -3)).toEqual({ retry: true, delayMs: 1000 });
    expect(decideRetry(policy, 1, boom, 7)).toEqual({ retry: true, delayMs: 1200 });
    expect(decideRetry(policy, 1, boom, Number.NaN)).toEqual({ retry: true, delayMs: 1000 });
  });

  it("stops once the attempts are used up", () => {
    expect(decideRetry(policy, 5, boom, 0).retry).toBe(true);
    const last = decideRetry(policy, 6, boom, 0);
    expect(last).toEqual({ retry: false, reason: "attempt 6 of 6: no attempts left" });
    expect(decideRetry({ ...policy, maxAttempts: 1 }, 1, boom, 0).retry).toBe(false);
  });

  it("does not retry an error marked not retryable", () => {
    const d = decideRetry(policy, 1, { ...boom, retryable: false }, 0);
    expect(d).toEqual({ retry: false, reason: "the error is marked not retryable" });
    expect(decideRetry(policy, 1, { ...boom, retryable: true }, 0).retry).toBe(true);
  });

  it("does not retry the policy's non-retryable error types (exact match)", () => {
    const d = decideRetry(policy, 1, { message: "bad field", type: "VALIDATION", retryable: true }, 0);
    expect(d.retry).toBe(false);
    if (!d.retry) expect(d.reason).toMatch(/"VALIDATION" is not retryable/);
    expect(decideRetry(policy, 1, { message: "x", type: "validation" }, 0).retry).toBe(true);
  });

  it("re-queues a task its worker handed back at once, attempts left or not, within a bound", () => {
    const once = { ...policy, maxAttempts: 1 };
    for (const type of ["WORKER_SHUTDOWN", "WORKER_DRAINING", "NO_SLOT"]) {
      expect(decideRetry(once, 1, { message: "stopping", type, retryable: true }, 0.9)).toEqual({
        retry: true,
        delayMs: 0,
      });
    }
    expect(decideRetry(once, 1 + MAX_RETURNS, { message: "stopping", type: "WORKER_SHUTDOWN" }, 0).retry).toBe(false);
    // Marked non-retryable, it is a failure like any other.
    expect(decideRetry(once, 1, { message: "x", type: "NO_SLOT", retryable: false }, 0).retry).toBe(false);
  });
});
