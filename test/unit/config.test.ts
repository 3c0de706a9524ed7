/**
 * Configuration: the concurrency knobs' backend-dependent defaults and
 * overrides, their bounds, the request timeout, retention, and that the README's table
 * lists every option with its environment variable.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, OPTIONS } from "../../src/config.js";

const PG = { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/weft" };

describe("loadConfig: dispatch concurrency", () => {
  it("defaults to 2 claims and 2 completions in flight on Postgres, 1 each on PGlite", () => {
    expect(loadConfig([], PG).dispatch).toMatchObject({ claimConcurrency: 2, completionConcurrency: 2 });
    expect(loadConfig([], {}).dispatch).toMatchObject({ claimConcurrency: 1, completionConcurrency: 1 });
  });

  it("takes flags and environment on Postgres, and keeps PGlite at 1", () => {
    expect(
      loadConfig(["--claim-concurrency", "4"], { ...PG, WEFT_COMPLETION_CONCURRENCY: "3" }).dispatch,
    ).toMatchObject({ claimConcurrency: 4, completionConcurrency: 3 });
    expect(loadConfig(["--claim-concurrency", "4", "--completion-concurrency", "3"], {}).dispatch).toMatchObject({
      claimConcurrency: 1,
      completionConcurrency: 1,
    });
  });

  it("refuses values out of range with the flag's name", () => {
    expect(() => loadConfig(["--claim-concurrency", "0"], PG)).toThrow(ConfigError);
    expect(() => loadConfig(["--completion-concurrency", "many"], PG)).toThrow(
      /--completion-concurrency \/ WEFT_COMPLETION_CONCURRENCY/,
    );
  });
});

describe("loadConfig: request timeout", () => {
  it("defaults to 30 s, takes flag and environment, and refuses less than a second", () => {
    expect(loadConfig([], {}).requestTimeoutMs).toBe(30_000);
    expect(loadConfig(["--request-timeout-ms", "2000"], { WEFT_REQUEST_TIMEOUT_MS: "5000" }).requestTimeoutMs).toBe(
      2000,
    );
    expect(loadConfig([], { WEFT_REQUEST_TIMEOUT_MS: "5000" }).requestTimeoutMs).toBe(5000);
    expect(() => loadConfig(["--request-timeout-ms", "999"], {})).toThrow(
      /--request-timeout-ms \/ WEFT_REQUEST_TIMEOUT_MS/,
    );
  });
});

describe("loadConfig: retention", () => {
  it("is unset by default, takes durations from flag and environment, and refuses bad ones", () => {
    expect(loadConfig([], {}).retentionMs).toBeUndefined();
    expect(loadConfig(["--retention", "30d"], {}).retentionMs).toBe(30 * 86_400_000);
    expect(loadConfig([], { WEFT_RETENTION: "1h30m" }).retentionMs).toBe(5_400_000);
    for (const bad of ["0s", "500ms", "soon", "-1d"])
      expect(() => loadConfig([], { WEFT_RETENTION: bad }), bad).toThrow(
        /--retention \/ WEFT_RETENTION: expected a duration/,
      );
    expect(loadConfig([], {}).retentionIntervalMs).toBe(60_000);
  });
});

describe("the README's configuration table", () => {
  it("lists every option with its environment variable", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const missing = Object.values(OPTIONS).filter((o) => !readme.includes(`| \`--${o.flag}\` | \`${o.env}\` |`));
    expect(missing.map((o) => o.flag)).toEqual([]);
  });
});

describe("loadConfig: log format", () => {
  it("is json unless pretty is asked for, and refuses anything else", () => {
    expect(loadConfig([], {}).logFormat).toBe("json");
    expect(loadConfig(["--log-format", "pretty"], {}).logFormat).toBe("pretty");
    expect(loadConfig([], { WEFT_LOG_FORMAT: "pretty" }).logFormat).toBe("pretty");
    expect(() => loadConfig(["--log-format", "xml"], {})).toThrow(
      /--log-format \/ WEFT_LOG_FORMAT: expected one of json, pretty/,
    );
  });
});
