/**
 * Redis for tests: where it is and whether it answers (a raw RESP PING over
 * TCP, so this helper needs no Redis client).
 *
 * Honest skipping: without Redis a local run skips the Redis suites, but
 * with `CI` set a missing Redis fails the run instead.
 */
import { connect } from "node:net";

/**
 * The Redis tests use: `TEST_REDIS_URL`, else `REDIS_URL`, else the local default.
 *
 * @example
 * ```ts
 * const redis = new Redis(redisUrl());
 * ```
 */
export function redisUrl(): string {
  return process.env.TEST_REDIS_URL || process.env.REDIS_URL || "redis://127.0.0.1:6379";
}

/**
 * Sends `PING` and resolves true on `+PONG` (or an auth error, which still
 * proves a Redis answers), false on refusal, timeout or anything else.
 */
function ping(url: URL, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 6379) });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("*1\r\n$4\r\nPING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG") || reply.startsWith("-NOAUTH"));
    });
  });
}

/**
 * Whether Redis answers. Unreachable: throws when `CI` is set (the suite
 * must fail, not skip), else returns false.
 *
 * @example
 * ```ts
 * const hasRedis = await requireRedis();
 * describe.skipIf(!hasRedis)("on redis", () => { ... });
 * ```
 */
export async function requireRedis(): Promise<boolean> {
  const ok = await ping(new URL(redisUrl()), 3000);
  if (!ok && process.env.CI) throw new Error(`Redis at ${redisUrl()} is required in CI`);
  return ok;
}
