import { describe, expect, it } from "vitest";
import { purgeCutoff, purgeStatuses, retentionOf } from "../../src/engine/retention.js";

describe("retentionOf", () => {
  it("takes the workflow's retention over the server's", () => {
    expect(retentionOf(60_000, 86_400_000)).toBe(60_000);
    expect(retentionOf(86_400_000 * 90, 86_400_000)).toBe(86_400_000 * 90);
  });
  it("falls back to the server's, and keeps runs when neither is set", () => {
    expect(retentionOf(undefined, 3_600_000)).toBe(3_600_000);
    expect(retentionOf(0, 3_600_000)).toBe(3_600_000);
    expect(retentionOf(undefined, undefined)).toBeUndefined();
    expect(retentionOf(undefined, 0)).toBeUndefined();
  });
});

describe("purgeCutoff", () => {
  it("is now minus the retention", () => {
    expect(purgeCutoff(Date.parse("2026-12-05T00:00:00Z"), 3_600_000).toISOString()).toBe("2026-12-04T23:00:00.000Z");
  });
});

describe("purgeStatuses", () => {
  it("means every finished status when none is named", () => {
    expect(purgeStatuses([])).toEqual(["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]);
  });
  it("keeps the named finished statuses, each once", () => {
    expect(purgeStatuses(["TIMED_OUT", "FAILED", "FAILED"])).toEqual(["FAILED", "TIMED_OUT"]);
  });
  it("refuses statuses of runs that can still move", () => {
    expect(purgeStatuses(["FAILED", "RUNNING", "PENDING"])).toEqual({
      error: "RUNNING, PENDING runs are not finished and cannot be purged",
    });
  });
});
