/**
 * The SDK's HTTP/2 connections against a real server process: `Worker`s of
 * one process share one connection to an address (a stream each), a worker
 * with `shareConnection: false` opens its own, stopping one sharer leaves
 * the others working, and the shared connection closes with its last user.
 *
 * Connections are counted in /proc/net/tcp{,6}: ESTABLISHED sockets of this
 * process's kind to the server's port (the test's own client has one too,
 * which the baseline takes in).
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import { Worker } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { eventually, uniqueId } from "../support/execution.js";
import { defineWorkflow, output, trigger, waitForRun } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();

/** ESTABLISHED TCP connections to `port` on this machine (both directions' client sides). */
function connectionsTo(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols[2] is the remote address:port, cols[3] the state (01 = ESTABLISHED).
      if (cols[2]?.endsWith(`:${hexPort}`) && cols[3] === "01") n++;
    }
  }
  return n;
}

describe.skipIf(!hasPostgres)("SDK connections", () => {
  let weft: Weft;
  let port: number;
  beforeAll(async () => {
    weft = await startWeft({ backend: "postgres" });
    port = Number(new URL(weft.url).port);
  }, 60_000);
  afterAll(async () => {
    await weft?.stop();
  });

  it(
    "shares one connection among the workers of a process, and gives its own to a worker that asks",
    { timeout: 60_000 },
    async () => {
      const id = uniqueId("conns");
      const action = `${id}.echo`;
      await defineWorkflow(weft.client, { id, steps: [{ id: "a", action }] });
      const before = connectionsTo(port);

      const make = (name: string, shareConnection?: boolean) => {
        const w = new Worker({
          address: weft.url,
          name,
          slots: 2,
          logger: () => undefined,
          ...(shareConnection === undefined ? {} : { shareConnection }),
        });
        w.register(action, (input: unknown) => ({ by: name, input }));
        return w;
      };
      const shared = [make("s1"), make("s2"), make("s3")];
      const own = make("own", false);
      const all = [...shared, own];
      try {
        for (const w of all) void w.start();
        await eventually(() => (all.every((w) => w.connected) ? true : undefined), 20_000, "all workers connected");
        expect(connectionsTo(port) - before).toBe(2);

        // Stopping one sharer keeps the connection, and the others still get work.
        await shared[0]!.stop();
        expect(connectionsTo(port) - before).toBe(2);
        const runs = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => trigger(weft.client, id, { n })));
        const done = await Promise.all(runs.map((r) => waitForRun(weft.client, r)));
        expect(done.map((r) => r.status)).toEqual(done.map(() => RunStatus.SUCCEEDED));
        const by = new Set(done.map((r) => (output(r, "a") as { by: string }).by));
        expect(by.has("s1")).toBe(false);

        // The shared connection ends with its last user.
        await shared[1]!.stop();
        await shared[2]!.stop();
        await eventually(
          () => (connectionsTo(port) - before === 1 ? true : undefined),
          10_000,
          "the shared connection closed",
        );
      } finally {
        await Promise.all(all.map((w) => w.stop()));
      }
      await eventually(
        () => (connectionsTo(port) === before ? true : undefined),
        10_000,
        "every worker connection closed",
      );
    },
  );
});
