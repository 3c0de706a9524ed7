/**
 * Authorization does not lean on Redis: with the server's Redis killed,
 * a good key still passes, a role still limits, an unknown key is still
 * refused, and a key revoked meanwhile is refused within 2 s. The truth
 * about keys is in Postgres; each replica caches what it read for 1 s.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/weft/v1/admin_service_pb.js";
import { createWeftClient, type WeftClient } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { requireRedisServer, startPrivateRedis, type PrivateRedis } from "../support/private-redis.js";
import { startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();
const hasRedisServer = requireRedisServer();
const ADMIN = "auth-without-redis-admin-key-0123456789abcdef";

/** The code a call ends with ("ok" when it succeeds). */
async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

describe.skipIf(!hasPostgres || !hasRedisServer)("authorization with Redis gone", () => {
  let redis: PrivateRedis;
  let weft: Weft;
  const clients: WeftClient[] = [];
  const client = (apiKey: string): WeftClient => {
    const c = createWeftClient(weft.url, { apiKey });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    redis = await startPrivateRedis();
    weft = await startWeft({ redisUrl: redis.url, args: ["--auth", "keys", "--admin-key", ADMIN] });
  }, 90_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await weft?.stop();
    await redis?.stop().catch(() => undefined);
  });

  it(
    "keeps good keys working, roles limiting, and revocations taking effect within 2 s",
    { timeout: 60_000 },
    async () => {
      const admin = client(ADMIN);
      const viewer = await admin.admin.createApiKey({ name: "viewer", role: Role.VIEWER });
      const doomed = await admin.admin.createApiKey({ name: "doomed", role: Role.OPERATOR });
      const asDoomed = client(doomed.secret);
      expect(await codeOf(asDoomed.workflows.listWorkflows({}))).toBe("ok");

      await redis.stop();

      const asViewer = client(viewer.secret);
      expect(await codeOf(asViewer.workflows.listWorkflows({}))).toBe("ok");
      expect(await codeOf(asViewer.runs.cancelRun({ runId: "0193a000-0000-7000-8000-000000000000" }))).toBe(
        Code.PermissionDenied,
      );
      const forged = `weft_${viewer.key!.id}_${"A".repeat(43)}`;
      expect(await codeOf(client(forged).workflows.listWorkflows({}))).toBe(Code.Unauthenticated);

      await admin.admin.revokeApiKey({ id: doomed.key!.id });
      const revokedAt = Date.now();
      let refusedAfter = -1;
      while (Date.now() - revokedAt < 5_000) {
        if ((await codeOf(asDoomed.workflows.listWorkflows({}))) === Code.Unauthenticated) {
          refusedAfter = Date.now() - revokedAt;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(refusedAfter).toBeGreaterThanOrEqual(0);
      expect(refusedAfter).toBeLessThan(2_000);
    },
  );
});
