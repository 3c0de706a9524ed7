/**
 * The embedded store shares the server's thread: a chain of its queries must
 * leave the event loop turns to read sockets and fire timers in between
 * (otherwise workers' results and heartbeats wait unread while leases run
 * out). Ordering, not timing: a timer due at once must fire while the chain
 * is still going.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import { createPgliteStore } from "../../src/store/db/pglite.js";

let dir: string;
let store: KyselyStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "weft-pglite-loop-"));
  store = await createPgliteStore({ dataDir: join(dir, "data") });
  await store.migrate();
}, 60_000);

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

it("gives the event loop a turn between queries", async () => {
  const chain = 50;
  let done = 0;
  let doneWhenTimerFired: number | undefined;
  setTimeout(() => (doneWhenTimerFired = done), 0);
  for (let i = 0; i < chain; i++) {
    await store.listWorkflowVersions("default", "none");
    done++;
  }
  expect(doneWhenTimerFired).toBeDefined();
  expect(doneWhenTimerFired!).toBeLessThan(chain);
});
