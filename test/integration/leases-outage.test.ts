/**
 * The Redis lease store through a TCP proxy that we cut and restore: while
 * the path is down calls fail fast (nothing parks in a queue), and when it
 * is back the store reconnects by itself. Redis itself keeps running.
 */
import { randomBytes } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisLeaseStore, type RedisLeaseStore } from "../../src/leases/index.js";
import { redisUrl, requireRedis } from "../support/redis.js";

const hasRedis = await requireRedis();

/** A proxy to Redis that can be cut (listener closed, connections destroyed) and restored on the same port. */
function createProxy(target: URL) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect({ host: target.hostname, port: Number(target.port || 6379) });
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        const address = server!.address();
        if (address && typeof address === "object") port = address.port;
        resolve();
      });
    });
  const cut = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (server) server.close(() => resolve());
      else resolve();
      server = undefined;
    });
  return { start, cut, url: () => `redis://127.0.0.1:${port}/10` };
}

describe.skipIf(!hasRedis)("redis lease store across an outage", () => {
  const proxy = createProxy(new URL(redisUrl()));
  const states: string[] = [];
  const prefix = `weft-test-${randomBytes(4).toString("hex")}`;
  let store: RedisLeaseStore;

  beforeAll(async () => {
    await proxy.start();
    store = createRedisLeaseStore({ url: proxy.url(), prefix, onConnection: (s) => states.push(s) });
  });
  afterAll(async () => {
    if (store) {
      const keys = await store.client.keys(`{${prefix}}:*`).catch(() => []);
      if (keys.length > 0) await store.client.del(...keys);
      await store.close();
    }
    await proxy.cut();
  });

  it("fails fast while Redis is unreachable and reconnects when it is back", async () => {
    const [grant] = await store.acquire([{ taskId: "a" }], "w1", 30_000);

    await proxy.cut();
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await expect(store.renew([grant!], "w1", 30_000)).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(1_500);
    }
    expect(states).toEqual(["down"]);

    await proxy.start();
    const deadline = Date.now() + 5_000;
    let held: string[] | undefined;
    while (held === undefined && Date.now() < deadline) {
      held = await store.renew([grant!], "w1", 30_000).catch(() => undefined);
      if (held === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(held).toEqual(["a"]);
    expect(states).toEqual(["down", "up"]);
    expect(await store.check("a", grant!.token)).toBe(true);
  });
});
