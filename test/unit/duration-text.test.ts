import { describe, it, expect } from "vitest";
import { formatProtoDuration, parseDurationMs, parseDurationNanos } from "../../src/engine/duration-text.js";

describe("duration text", () => {
  it("parses friendly forms exactly", () => {
    expect(parseDurationNanos("500ms")).toBe(500_000_000n);
    expect(parseDurationNanos("1h30m")).toBe(5_400_000_000_000n);
    expect(parseDurationNanos("0.1s")).toBe(100_000_000n);
    expect(parseDurationNanos(30)).toBe(30_000_000_000n);
    expect(parseDurationNanos("30")).toBe(30_000_000_000n);
    expect(parseDurationNanos("-5s")).toBe(-5_000_000_000n);
    expect(parseDurationMs("250us")).toBe(0.25);
  });

  it("rejects what is not a duration", () => {
    for (const bad of ["soon", "", "1h 30m", "5 s", "1e3", Number.NaN, null, true]) {
      expect(parseDurationNanos(bad), String(bad)).toBeUndefined();
    }
  });

  it("formats proto JSON durations", () => {
    expect(formatProtoDuration(500_000_000n)).toBe("0.5s");
    expect(formatProtoDuration(300_000_000_000n)).toBe("300s");
    expect(formatProtoDuration(1_000_000_001n)).toBe("1.000000001s");
    expect(formatProtoDuration(-1_500_000_000n)).toBe("-1.5s");
    expect(formatProtoDuration(0n)).toBe("0s");
  });
});
