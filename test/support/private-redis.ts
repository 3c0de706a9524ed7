/**
 * A private `redis-server` on a free port, for tests that kill, restart or
 * flush Redis: never the shared one, which other suites use at the same time.
 *
 * @example
 * ```ts
 * const redis = await startPrivateRedis();
 * await redis.restart();   // SIGKILL, then a fresh empty server on the same port
 * await redis.flushAll();
 * await redis.stop();
 * ```
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { freePort } from "./free-port.js";

export interface PrivateRedis {
  port: number;
  url: string;
  /** SIGKILL the server, wait `downMs`, start an empty one on the same port. */
  restart(downMs?: number): Promise<void>;
  /** FLUSHALL through a raw RESP command. */
  flushAll(): Promise<void>;
  /** A raw command, e.g. `["DBSIZE"]`; resolves with the reply's first line. */
  command(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Whether a `redis-server` binary is on PATH. Missing: throws when `CI` is
 * set (the suite must fail, not skip), else returns false.
 *
 * @example
 * ```ts
 * describe.skipIf(!requireRedisServer())("redis outages", () => { ... });
 * ```
 */
export function requireRedisServer(): boolean {
  const ok = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
  if (!ok && process.env.CI) throw new Error("redis-server is required in CI (apt-get install redis-server)");
  return ok;
}

function send(port: number, args: string[], timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`redis on ${port}: no answer to ${args[0]}`));
    });
    socket.on("error", reject);
    socket.on("connect", () =>
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`),
    );
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      if (reply.includes("\r\n")) {
        socket.destroy();
        resolve(reply.split("\r\n")[0]!);
      }
    });
  });
}

async function launch(port: number): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${child.exitCode}`);
    try {
      if ((await send(port, ["PING"], 500)) === "+PONG") return child;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`redis-server on ${port} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}

/** Starts an empty, non-persistent redis-server on a free port. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child = await launch(port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart(downMs = 500) {
      await kill(child);
      await new Promise((r) => setTimeout(r, downMs));
      child = await launch(port);
    },
    async flushAll() {
      const reply = await send(port, ["FLUSHALL"]);
      if (reply !== "+OK") throw new Error(`FLUSHALL answered ${reply}`);
    },
    command: (args) => send(port, args),
    stop: () => kill(child),
  };
}
