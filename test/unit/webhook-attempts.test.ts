import { describe, expect, it } from "vitest";
import { attemptOutcome, MAX_ATTEMPTS } from "../../src/jobs/webhook-deliverer.js";

const d = { id: "7", kind: "run.finished" as const, url: "http://hooks.test/x", attempt: 1 };

describe("attemptOutcome", () => {
  it("records a 2xx as delivered", () => {
    expect(attemptOutcome(d, 204, undefined, 1000, 0)).toEqual({
      id: "7",
      outcome: "delivered",
      message: "run.finished webhook POST http://hooks.test/x → 204 (attempt 1)",
    });
  });

  it.each([
    [1, 0, 1000],
    [2, 0, 2000],
    [3, 0.5, 4400],
    [11, 0, 600_000],
    [40, 1, 720_000],
  ])("retries attempt %i after a doubling backoff capped at 10 minutes (jitter %f → %i ms)", (attempt, random, ms) => {
    expect(attemptOutcome({ ...d, attempt }, 503, "answered 503", 1000, random)).toMatchObject({
      outcome: "retry",
      retryInMs: ms,
      message: expect.stringContaining(`answered 503 (attempt ${attempt}); retry in ${ms} ms`),
    });
  });

  it("gives up at the last attempt", () => {
    expect(attemptOutcome({ ...d, attempt: MAX_ATTEMPTS }, 0, "ECONNREFUSED", 1000, 0)).toMatchObject({
      outcome: "gave_up",
      message: expect.stringContaining("giving up"),
    });
  });

  it("gives up at once when the egress policy refused the URL: a retry would be refused too", () => {
    const problem = "EGRESS_DENIED: 10.0.0.5 is in the private range 10.0.0.0/8";
    expect(attemptOutcome(d, 0, problem, 1000, 0, true)).toEqual({
      id: "7",
      outcome: "gave_up",
      message: `run.finished webhook POST http://hooks.test/x refused: ${problem} (attempt 1); not retried`,
    });
    expect(attemptOutcome(d, 0, problem, 1000, 0).outcome).toBe("retry");
  });
});
