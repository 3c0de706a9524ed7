import { describe, it, expect } from "vitest";
import {
  MAX_CATCH_UP_TICKS,
  checkCron,
  dueTicks,
  nextCronTimes,
  nextTick,
  parseCronSpec,
} from "../../src/engine/cron.js";

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe("parseCronSpec", () => {
  it("splits a TZ or CRON_TZ prefix", () => {
    expect(parseCronSpec("TZ=Europe/Paris 0 9 * * *")).toEqual({ pattern: "0 9 * * *", timezone: "Europe/Paris" });
    expect(parseCronSpec("CRON_TZ=Asia/Tokyo  0 9 * * *")).toEqual({ pattern: "0 9 * * *", timezone: "Asia/Tokyo" });
    expect(parseCronSpec("*/5 * * * *")).toEqual({ pattern: "*/5 * * * *" });
  });
});

describe("checkCron", () => {
  it("accepts 5 fields, 6 fields with seconds, nicknames and zones", () => {
    for (const ok of [
      "*/15 * * * *",
      "0 9 * * MON-FRI",
      "*/10 * * * * *",
      "@daily",
      "TZ=America/New_York 30 8 1 * *",
    ]) {
      expect(checkCron(ok), ok).toBeUndefined();
    }
  });

  it("rejects bad patterns with a message", () => {
    expect(checkCron("61 * * * *")).toMatch(/minute/);
    expect(checkCron("* * * *")).toMatch(/5 fields/);
    expect(checkCron("* * * * * * *")).toMatch(/5 fields/);
    expect(checkCron("")).toMatch(/empty/);
    expect(checkCron("0 0 30 2 *")).toMatch(/never fires/);
  });

  it("rejects an unknown zone", () => {
    expect(checkCron("TZ=Mars/Olympus 0 9 * * *")).toBe('unknown time zone "Mars/Olympus"');
    expect(checkCron("CRON_TZ= 0 9 * * *")).toMatch(/unknown time zone/);
  });
});

describe("nextCronTimes", () => {
  it("computes UTC times strictly after the reference", () => {
    expect(iso(nextCronTimes("0 * * * *", new Date("2024-01-01T11:00:00Z"), 2))).toEqual([
      "2024-01-01T12:00:00.000Z",
      "2024-01-01T13:00:00.000Z",
    ]);
  });

  it("honours the zone, including daylight saving time", () => {
    expect(iso(nextCronTimes("TZ=Europe/Paris 0 9 * * *", new Date("2024-03-30T12:00:00Z"), 2))).toEqual([
      "2024-03-31T07:00:00.000Z",
      "2024-04-01T07:00:00.000Z",
    ]);
    expect(iso(nextCronTimes("TZ=Europe/Paris 0 9 * * *", new Date("2024-01-10T00:00:00Z"), 1))).toEqual([
      "2024-01-10T08:00:00.000Z",
    ]);
  });

  it("supports a seconds field", () => {
    expect(iso(nextCronTimes("*/10 * * * * *", new Date("2024-01-01T00:00:00.500Z"), 2))).toEqual([
      "2024-01-01T00:00:10.000Z",
      "2024-01-01T00:00:20.000Z",
    ]);
  });

  it("throws on an invalid cron string", () => {
    expect(() => nextCronTimes("nope", new Date(0), 1)).toThrow(/invalid cron/);
  });
});

describe("dueTicks (the scheduler's catch-up policy)", () => {
  const at = (iso: string) => new Date(iso);
  it("fires only the latest tick when nothing is known (a replica that just started)", () => {
    expect(dueTicks("0 * * * *", undefined, at("2024-01-01T10:30:00Z"))).toEqual([at("2024-01-01T10:00:00Z")]);
    expect(dueTicks("0 * * * *", undefined, at("2024-01-01T10:00:00Z"))).toEqual([at("2024-01-01T10:00:00Z")]);
  });
  it("fires every tick since the last pass, oldest first", () => {
    expect(dueTicks("* * * * * *", at("2024-01-01T10:00:00.500Z"), at("2024-01-01T10:00:03.100Z"))).toEqual([
      at("2024-01-01T10:00:01Z"),
      at("2024-01-01T10:00:02Z"),
      at("2024-01-01T10:00:03Z"),
    ]);
    expect(dueTicks("0 * * * *", at("2024-01-01T10:00:00Z"), at("2024-01-01T10:59:59Z"))).toEqual([]);
  });
  it(`collapses more than ${MAX_CATCH_UP_TICKS} missed ticks into the latest one`, () => {
    expect(dueTicks("* * * * * *", at("2024-01-01T09:00:00Z"), at("2024-01-01T10:00:03.100Z"))).toEqual([
      at("2024-01-01T10:00:03Z"),
    ]);
  });
  it("honours the time zone prefix and finds the next tick", () => {
    expect(dueTicks("TZ=Europe/Paris 0 9 * * *", undefined, at("2024-01-01T10:30:00Z"))).toEqual([
      at("2024-01-01T08:00:00Z"),
    ]);
    expect(nextTick("* * * * * *", at("2024-01-01T00:00:00.400Z"))).toEqual(at("2024-01-01T00:00:01Z"));
  });
});
