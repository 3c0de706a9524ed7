/**
 * API keys, roles and the audit trail over the wire (docs/security.md),
 * against real server processes started with `--auth keys` and
 * WEFT_ADMIN_KEY on a fresh Postgres database and the shared Redis:
 *
 * - every RPC × every role (one key per role, made with the bootstrap key):
 *   refused with PERMISSION_DENIED exactly where `mayCall` says, plus
 *   hand-written spot checks, so a broken table cannot pass by being
 *   mirrored; health needs no key, reflection any valid one, and every RPC
 *   the server advertises is in the table;
 * - bad `Authorization` headers: UNAUTHENTICATED with a helpful message,
 *   never INTERNAL, and the server stays up;
 * - a worker key for `email.*`: an SDK worker declaring `sms.send` is
 *   refused and FAILED, one declaring `email.send` completes a run;
 * - a key revoked on replica A is refused by replica B within 2 s;
 * - start: a non-loopback host without credentials exits 2, `--auth none`
 *   warns, `--auth keys` on an empty database prints a first admin key on
 *   stderr only;
 * - the audit trail: refused and mutating calls with key, outcome, target;
 * - the throttle: 20 bad keys from one address, then RESOURCE_EXHAUSTED,
 *   while a key known to be good still works from it.
 *
 * The cases share servers and run in order: the audit case reads what the
 * cases before it did.
 */
import { randomBytes } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";
import type { ServerReflectionResponse } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { Role as PbRole, type AuditEvent } from "../../gen/weft/v1/admin_service_pb.js";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import { Worker, WorkerState, createWeftClient, type WeftClient } from "../../sdk/index.js";
import { mayCall, PROCEDURE_ACCESS, ROLES, type Role } from "../../src/security/roles.js";
import { authClients, oneThenWait, type AuthClients } from "../support/auth-clients.js";
import { createTestDatabase, requirePostgres, type TestDatabase } from "../support/db.js";
import { requireRedis } from "../support/redis.js";
import { defineWorkflow, output, trigger, waitForRun } from "../support/runs.js";
import { runWeftToExit, startServerProcess, type ServerProcess } from "../support/server-process.js";
import { startStack, type Stack } from "../support/stack.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();

const ADMIN_KEY = randomBytes(32).toString("hex");
const KEY_TEXT = /weft_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/;
/** A key of the right shape that no server made. */
const randomKey = (): string => `weft_${randomBytes(6).toString("hex")}_${randomBytes(32).toString("base64url")}`;
/** A run id no run has. */
const NO_RUN = "01900000-0000-7000-8000-000000000000";
const PB_ROLE: Record<Role, PbRole> = {
  admin: PbRole.ADMIN,
  developer: PbRole.DEVELOPER,
  operator: PbRole.OPERATOR,
  viewer: PbRole.VIEWER,
  worker: PbRole.WORKER,
};
/** Client addresses of their own (all of 127.0.0.0/8 is this machine), so the throttle and the audit tell them apart. */
const BAD_HEADER_PEER = "127.0.0.2";
const THROTTLED_PEER = "127.0.0.3";

interface Key {
  id: string;
  secret: string;
}

/** What a call answered: "ok", or the name of its error code ("PermissionDenied"), and the message. */
async function outcome(call: () => Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await call();
    return { code: "ok", message: "" };
  } catch (err) {
    const ce = ConnectError.from(err);
    return { code: Code[ce.code], message: ce.rawMessage };
  }
}

/** The first message of a server stream (then the call is cancelled). */
async function firstOf<T>(open: (signal: AbortSignal) => AsyncIterable<T>): Promise<T> {
  const ctrl = new AbortController();
  try {
    for await (const m of open(ctrl.signal)) return m;
    throw new Error("the stream ended without a message");
  } finally {
    ctrl.abort();
  }
}

/** Asks reflection (v1) one question on a stream of its own. */
function reflect(
  c: AuthClients,
  messageRequest: { case: "listServices" | "fileContainingSymbol"; value: string },
): Promise<ServerReflectionResponse> {
  return firstOf((signal) => c.reflection.serverReflectionInfo(oneThenWait({ messageRequest }, signal), { signal }));
}

/**
 * Each RPC called with a minimal request. Allowed callers get an answer
 * (often NOT_FOUND or INVALID_ARGUMENT: nothing here changes anything);
 * streams are read to their first message.
 */
const CALLS: Record<string, (c: AuthClients) => Promise<unknown>> = {
  "/weft.v1.WorkflowService/CreateWorkflow": (c) => c.workflows.createWorkflow({}),
  "/weft.v1.WorkflowService/GetWorkflow": (c) => c.workflows.getWorkflow({ id: "auth-matrix-none" }),
  "/weft.v1.WorkflowService/ListWorkflows": (c) => c.workflows.listWorkflows({ pageSize: 1 }),
  "/weft.v1.WorkflowService/DeleteWorkflow": (c) => c.workflows.deleteWorkflow({ id: "auth-matrix-none" }),
  "/weft.v1.WorkflowService/TriggerWorkflow": (c) => c.workflows.triggerWorkflow({ workflowId: "auth-matrix-none" }),
  "/weft.v1.WorkflowService/TriggerWorkflows": (c) =>
    c.workflows.triggerWorkflows({ triggers: [{ workflowId: "auth-matrix-none" }] }),
  "/weft.v1.WorkflowService/PublishEvent": (c) => c.workflows.publishEvent({ name: "auth.matrix" }),
  "/weft.v1.RunService/GetRun": (c) => c.runs.getRun({ runId: NO_RUN }),
  "/weft.v1.RunService/ListRuns": (c) => c.runs.listRuns({ pageSize: 1 }),
  "/weft.v1.RunService/CancelRun": (c) => c.runs.cancelRun({ runId: NO_RUN }),
  "/weft.v1.RunService/RetryRun": (c) => c.runs.retryRun({ runId: NO_RUN }),
  "/weft.v1.RunService/WatchRun": (c) => firstOf((signal) => c.runs.watchRun({ runId: NO_RUN }, { signal })),
  "/weft.v1.RunService/GetRunHistory": (c) => c.runs.getRunHistory({ runId: NO_RUN }),
  "/weft.v1.RunService/PurgeRuns": (c) =>
    c.runs.purgeRuns({ workflowId: "auth-matrix-none", finishedBefore: timestampFromMs(0), dryRun: true }),
  "/weft.v1.WorkerService/Connect": (c) =>
    firstOf((signal) =>
      c.workers.connect(
        oneThenWait(
          { msg: { case: "hello", value: { workerName: "auth-matrix", actions: ["auth.matrix.noop"], slots: 1 } } },
          signal,
        ),
        { signal },
      ),
    ),
  "/weft.v1.WorkerService/ListWorkers": (c) => c.workers.listWorkers({}),
  "/weft.v1.AdminService/CreateApiKey": (c) => c.admin.createApiKey({}),
  "/weft.v1.AdminService/ListApiKeys": (c) => c.admin.listApiKeys({}),
  "/weft.v1.AdminService/RevokeApiKey": (c) => c.admin.revokeApiKey({ id: "000000000000" }),
  "/weft.v1.AdminService/ListAuditEvents": (c) => c.admin.listAuditEvents({ pageSize: 1 }),
  "/grpc.health.v1.Health/Check": (c) => c.health.check({}),
  "/grpc.health.v1.Health/Watch": (c) => firstOf((signal) => c.health.watch({}, { signal })),
  "/grpc.health.v1.Health/List": (c) => c.health.list({}),
  "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": (c) => reflect(c, { case: "listServices", value: "" }),
  "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": (c) =>
    firstOf((signal) =>
      c.reflectionAlpha.serverReflectionInfo(
        oneThenWait({ messageRequest: { case: "listServices", value: "" } }, signal),
        { signal },
      ),
    ),
};

/** Written by hand from docs/security.md, not derived from the code: [procedure, role, allowed]. */
const SPOT_CHECKS: [string, Role, boolean][] = [
  ["/weft.v1.RunService/CancelRun", "viewer", false],
  ["/weft.v1.RunService/CancelRun", "operator", true],
  ["/weft.v1.WorkflowService/CreateWorkflow", "operator", false],
  ["/weft.v1.WorkflowService/CreateWorkflow", "developer", true],
  ["/weft.v1.WorkflowService/TriggerWorkflow", "viewer", false],
  ["/weft.v1.RunService/WatchRun", "viewer", true],
  ["/weft.v1.RunService/GetRun", "worker", false],
  ["/weft.v1.WorkerService/Connect", "worker", true],
  ["/weft.v1.WorkerService/Connect", "operator", false],
  ["/weft.v1.WorkerService/ListWorkers", "worker", false],
  ["/weft.v1.AdminService/CreateApiKey", "developer", false],
  ["/weft.v1.AdminService/ListAuditEvents", "viewer", false],
  ["/weft.v1.AdminService/RevokeApiKey", "admin", true],
  ["/grpc.health.v1.Health/Check", "worker", true],
  ["/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "worker", true],
  ["/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "viewer", true],
];

/** A call's answer as the matrix judges it. */
function verdict(code: string): string {
  if (code === "PermissionDenied") return "denied";
  if (code === "Unauthenticated" || code === "Internal" || code === "Unknown") return `broken: ${code}`;
  return "allowed";
}

/** Polls ListAuditEvents until `test` holds for the events it returns (rows are written every 50 ms). */
async function auditUntil(
  admin: WeftClient,
  req: { keyId?: string; procedure?: string; deniedOnly?: boolean },
  test: (events: AuditEvent[]) => boolean,
  timeoutMs = 5_000,
): Promise<AuditEvent[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { events } = await admin.admin.listAuditEvents({ ...req, pageSize: 1000 });
    if (test(events)) return events;
    if (Date.now() > end) {
      const seen = events.map((e) => `${e.procedure} ${e.keyId} ${e.outcome} ${e.target} ${e.peer}`);
      throw new Error(`audit events ${JSON.stringify(req)} not as expected in ${timeoutMs} ms:\n${seen.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!hasPostgres || !hasRedis)("API keys, roles and the audit trail", () => {
  let stack: Stack;
  let a: ServerProcess;
  let b: ServerProcess;
  let admin: WeftClient;
  const keys = {} as Record<Role, Key>;
  /** A worker key for `email.*` only. */
  let emailKey: Key;
  /** Revoked before any use. */
  let revoked: Key;
  const clients = {} as Record<Role, AuthClients>;
  const opened: { close(): void }[] = [];
  const open = <T extends { close(): void }>(c: T): T => (opened.push(c), c);

  const createKey = async (name: string, role: Role, actionPatterns: string[] = []): Promise<Key> => {
    const res = await admin.admin.createApiKey({ name, role: PB_ROLE[role], actionPatterns });
    return { id: res.key!.id, secret: res.secret };
  };

  beforeAll(async () => {
    stack = await startStack({
      env: {
        WEFT_AUTH: "keys",
        WEFT_ADMIN_KEY: ADMIN_KEY,
        WEFT_LEASE_PREFIX: `weft-auth-${randomBytes(4).toString("hex")}`,
      },
    });
    a = stack.servers[0]!;
    const replica = stack.addReplica();
    admin = open(createWeftClient(a.url, { apiKey: ADMIN_KEY }));
    for (const role of ROLES) {
      keys[role] = await createKey(`auth-${role}`, role, role === "worker" ? ["*"] : []);
      clients[role] = open(authClients(a.url, { apiKey: keys[role].secret }));
    }
    emailKey = await createKey("auth-mail-pool", "worker", ["email.*"]);
    b = await replica;
  });
  afterAll(async () => {
    for (const c of opened) c.close();
    await stack?.stop();
  });

  it("answers every RPC for every role as PROCEDURE_ACCESS says, and as the spot checks say", async () => {
    const seen: Record<string, Record<string, { code: string; message: string }>> = {};
    await Promise.all(
      ROLES.map(async (role) => {
        for (const [procedure, call] of Object.entries(CALLS)) {
          (seen[procedure] ??= {})[role] = await outcome(() => call(clients[role]));
        }
      }),
    );
    const observed = Object.fromEntries(
      Object.entries(seen).map(([p, byRole]) => [
        p,
        Object.fromEntries(ROLES.map((r) => [r, verdict(byRole[r]!.code)])),
      ]),
    );
    const expected = Object.fromEntries(
      Object.keys(CALLS).map((p) => [
        p,
        Object.fromEntries(ROLES.map((r) => [r, mayCall(r, p) ? "allowed" : "denied"])),
      ]),
    );
    expect(Object.keys(CALLS).sort()).toEqual(Object.keys(PROCEDURE_ACCESS).sort());
    expect(observed).toEqual(expected);
    for (const [p, role, allowed] of SPOT_CHECKS)
      expect(observed[p]![role], `${role} ${p}`).toBe(allowed ? "allowed" : "denied");
    // Allowed calls were really served: a worker key's hello got its welcome, an admin's list its answer.
    expect(seen["/weft.v1.WorkerService/Connect"]!.worker!.code).toBe("ok");
    expect(seen["/weft.v1.AdminService/ListApiKeys"]!.admin!.code).toBe("ok");
    expect(seen["/weft.v1.RunService/CancelRun"]!.operator!.code).toBe("NotFound");
    expect(seen["/weft.v1.RunService/CancelRun"]!.viewer!.message).toBe(
      `API key ${keys.viewer.id} has role viewer, which may not call RunService/CancelRun (allowed: admin, developer, operator)`,
    );
  });

  it("serves health without a key, and reflection to any valid key only", async () => {
    const anon = open(authClients(a.url));
    expect((await anon.health.check({})).status).toBe(Serving.SERVING);
    expect((await firstOf((signal) => anon.health.watch({}, { signal }))).status).toBe(Serving.SERVING);
    expect((await anon.health.list({})).statuses[""]?.status).toBe(Serving.SERVING);
    expect((await outcome(() => CALLS["/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"]!(anon))).code).toBe(
      "Unauthenticated",
    );
    expect((await outcome(() => anon.workflows.listWorkflows({}))).code).toBe("Unauthenticated");
  });

  it("lists in PROCEDURE_ACCESS every RPC the server advertises through reflection", async () => {
    const c = clients.viewer;
    const listed = await reflect(c, { case: "listServices", value: "" });
    if (listed.messageResponse.case !== "listServicesResponse") throw new Error("no list of services");
    const services = listed.messageResponse.value.service.map((s) => s.name);
    expect(services).toEqual(expect.arrayContaining(["weft.v1.AdminService", "grpc.health.v1.Health"]));
    const advertised: string[] = [];
    for (const name of services) {
      const res = await reflect(c, { case: "fileContainingSymbol", value: name });
      if (res.messageResponse.case !== "fileDescriptorResponse") throw new Error(`no file for ${name}`);
      for (const bytes of res.messageResponse.value.fileDescriptorProto) {
        const file = fromBinary(FileDescriptorProtoSchema, bytes);
        for (const s of file.service) {
          if (`${file.package}.${s.name}` !== name) continue;
          for (const m of s.method) advertised.push(`/${name}/${m.name}`);
        }
      }
    }
    expect(advertised.length).toBeGreaterThan(20);
    expect(advertised.filter((p) => !(p in PROCEDURE_ACCESS))).toEqual([]);
  });

  describe("bad Authorization headers", () => {
    beforeAll(async () => {
      // Made and revoked before any use: no replica has it cached.
      revoked = await createKey("auth-revoked", "developer");
      await admin.admin.revokeApiKey({ id: revoked.id });
    });

    const unknown = randomKey();
    const CASES: [string, string | undefined, RegExp][] = [
      ["no header", undefined, /needs an API key: send the header `Authorization: Bearer <key>`/],
      ["Basic credentials", "Basic dXNlcjpwYXNzd29yZA==", /must read `Bearer <key>`/],
      ["a key of another shape", "Bearer hunter2", /not a Weft API key \(they look like weft_<id>_<secret>\)/],
      ["2 KiB", `Bearer ${"k".repeat(2048)}`, /2055 characters long; a Weft key is 61/],
      ["non-ASCII bytes", `Bearer weft_${"\u00e9".repeat(12)}_${"\u00ff".repeat(43)}`, /outside printable ASCII/],
      ["an unknown key", `Bearer ${unknown}`, new RegExp(`^unknown API key ${unknown.slice(5, 17)}$`)],
    ];

    it.each(CASES)("refuses %s with UNAUTHENTICATED and says why", async (_name, header, message) => {
      const c = open(authClients(a.url, { authorization: header, localAddress: BAD_HEADER_PEER }));
      const got = await outcome(() => c.workflows.listWorkflows({}));
      expect(got.code).toBe("Unauthenticated");
      expect(got.message).toMatch(message);
    });

    it("refuses a revoked key, naming it", async () => {
      const c = open(authClients(a.url, { apiKey: revoked.secret, localAddress: BAD_HEADER_PEER }));
      expect(await outcome(() => c.runs.listRuns({}))).toEqual({
        code: "Unauthenticated",
        message: `API key ${revoked.id} has been revoked`,
      });
    });

    it("refuses a 64 KiB header with UNAUTHENTICATED on gRPC, and never INTERNAL on HTTP/1.1; the server stays up", async () => {
      const header = `Bearer ${"k".repeat(64 * 1024)}`;
      // Node's HTTP/2 client sends at most 64 KiB of headers by default (it fails in the client, never sent): allow more.
      const h2 = open(authClients(a.url, { authorization: header, maxSendHeaderBytes: 1 << 20 }));
      expect(await outcome(() => h2.workflows.listWorkflows({}))).toEqual({
        code: "Unauthenticated",
        message: "the Authorization header is 65543 characters long; a Weft key is 61",
      });
      // HTTP/1.1 refuses headers over 16 KiB before our code (431): what the client sees is not INTERNAL.
      const h1 = open(authClients(a.url, { authorization: header, protocol: "connect" }));
      const got = await outcome(() => h1.workflows.listWorkflows({}));
      expect(got.code, got.message).not.toMatch(/^(ok|Internal)$/);
      // A header field over 64 KiB ends the HTTP/2 connection in nghttp2 (GOAWAY), before any code of ours.
      const huge = open(
        authClients(a.url, { authorization: `Bearer ${"k".repeat(256 * 1024)}`, maxSendHeaderBytes: 1 << 20 }),
      );
      expect((await outcome(() => huge.workflows.listWorkflows({}))).code).not.toBe("ok");
      // Whatever refused them, the server still answers, on a new connection and on the old ones.
      expect((await outcome(() => open(authClients(a.url)).health.check({}))).code).toBe("ok");
      expect((await clients.viewer.workflows.listWorkflows({})).workflows).toBeDefined();
      expect(a.child.exitCode).toBeNull();
      expect(a.logs.filter((l) => /"level":"(error|fatal)"/.test(l))).toEqual([]);
    });
  });

  describe("a worker key for email.*", () => {
    const workers: Worker[] = [];
    const worker = (name: string, action: string, handler: (input: never) => unknown): Worker => {
      const w = new Worker({
        address: a.url,
        name,
        headers: { authorization: `Bearer ${emailKey.secret}` },
        logger: () => {},
        reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
        drainGraceMs: 500,
        ackWaitMs: 1000,
      });
      w.register(action, handler);
      workers.push(w);
      return w;
    };
    afterAll(() => Promise.all(workers.map((w) => w.stop())));

    it("refuses a worker declaring sms.send: its start rejects with PERMISSION_DENIED and it ends FAILED", async () => {
      const w = worker("auth-sms", "sms.send", () => ({}));
      const err = ConnectError.from(
        await w.start().then(
          () => new Error("the worker was welcomed"),
          (e: unknown) => e,
        ),
      );
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.rawMessage).toBe(
        `API key ${emailKey.id} may serve only actions matching email.*; the hello names sms.send`,
      );
      expect(w.state).toBe(WorkerState.FAILED);
    });

    it("runs email.send tasks of a run a developer key triggered", async () => {
      const dev = open(createWeftClient(a.url, { apiKey: keys.developer.secret }));
      await defineWorkflow(dev, {
        id: "auth-email",
        steps: [{ id: "send", action: "email.send", input: { to: "${ input.to }" } }],
      });
      await worker("auth-mail", "email.send", (input: { to: string }) => ({ sent: input.to })).start();
      const run = await waitForRun(dev, await trigger(dev, "auth-email", { to: "ada@example.com" }));
      expect(run.status).toBe(RunStatus.SUCCEEDED);
      expect(output(run, "send")).toEqual({ sent: "ada@example.com" });
    });
  });

  it("a key revoked on replica A is refused by replica B within 2 s", async () => {
    const key = await createKey("auth-revoke-me", "viewer");
    const onB = open(authClients(b.url, { apiKey: key.secret }));
    await onB.workflows.listWorkflows({}); // B has it cached now
    const started = Date.now();
    await admin.admin.revokeApiKey({ id: key.id });
    let last = await outcome(() => onB.workflows.listWorkflows({}));
    while (last.code === "ok" && Date.now() - started < 5_000) {
      await new Promise((r) => setTimeout(r, 100));
      last = await outcome(() => onB.workflows.listWorkflows({}));
    }
    const ms = Date.now() - started;
    console.log(`auth e2e: replica B refused the revoked key ${ms} ms after the revocation was sent to A`);
    expect(last).toEqual({ code: "Unauthenticated", message: `API key ${key.id} has been revoked` });
    expect(ms).toBeLessThan(2_000);
  });

  describe("start", () => {
    const dbs: TestDatabase[] = [];
    const servers: ServerProcess[] = [];
    const noAuthEnv = { WEFT_AUTH: undefined, WEFT_ADMIN_KEY: undefined, REDIS_URL: undefined };
    let refused: Awaited<ReturnType<typeof runWeftToExit>>;
    let openServer: ServerProcess;
    let firstKeyServer: ServerProcess;
    const freshDb = async (): Promise<string> => {
      const db = await createTestDatabase();
      dbs.push(db);
      return db.url;
    };
    const started = (s: ServerProcess): ServerProcess => (servers.push(s), s);

    beforeAll(async () => {
      // All three at once: each is a process start.
      [refused, openServer, firstKeyServer] = await Promise.all([
        runWeftToExit(
          ["serve", "--host", "0.0.0.0", "--port", "0"],
          { ...noAuthEnv, DATABASE_URL: stack.dbUrl },
          20_000,
        ),
        freshDb().then(async (url) =>
          started(
            await startServerProcess({
              host: "0.0.0.0",
              args: ["--auth", "none"],
              env: { ...noAuthEnv, DATABASE_URL: url },
            }),
          ),
        ),
        freshDb().then(async (url) =>
          started(await startServerProcess({ args: ["--auth", "keys"], env: { ...noAuthEnv, DATABASE_URL: url } })),
        ),
      ]);
    });
    afterAll(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await Promise.all(dbs.map((d) => d.drop()));
    });

    it("refuses 0.0.0.0 without credentials: exit code 2 and a message naming WEFT_ADMIN_KEY", () => {
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("refusing to listen on 0.0.0.0 without credentials");
      expect(refused.stderr).toContain("Set WEFT_ADMIN_KEY");
      expect(refused.stdout).not.toContain("weft listening");
    });

    it("starts on 0.0.0.0 with --auth none, open, and logs a warning saying so", async () => {
      const warnings = openServer.logs
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { level: string; msg: string })
        .filter((e) => e.level === "warn" && e.msg.includes("auth"));
      expect(warnings.map((w) => w.msg)).toEqual([
        "--auth none: anyone who can reach 0.0.0.0 may define, trigger and read every workflow, and serve any action",
      ]);
      const anon = open(authClients(openServer.url));
      expect((await anon.workflows.listWorkflows({})).workflows).toEqual([]);
    });

    it("--auth keys on an empty database prints a first admin key on stderr, not in the log, and it works", async () => {
      const server = firstKeyServer;
      // stderr is read apart from stdout: the key may come in just after "weft listening".
      const end = Date.now() + 5_000;
      while (!server.stderr.some((l) => KEY_TEXT.test(l)) && Date.now() < end)
        await new Promise((r) => setTimeout(r, 20));
      const line = server.stderr.find((l) => KEY_TEXT.test(l));
      expect(line, server.logs.join("\n")).toBeDefined();
      const secret = KEY_TEXT.exec(line!)![0];
      const id = secret.slice(5, 17);
      const logLines = server.logs.filter((l) => l.startsWith("{"));
      expect(logLines.filter((l) => l.includes(secret))).toEqual([]);
      expect(server.logs.filter((l) => l.includes(secret))).toEqual([line]);
      expect(logLines.some((l) => l.includes(`"keyId":"${id}"`) && l.includes("first admin key"))).toBe(true);
      const first = open(createWeftClient(server.url, { apiKey: secret }));
      const { keys: listed } = await first.admin.listApiKeys({});
      expect(listed.map((k) => [k.id, k.role])).toEqual([[id, PbRole.ADMIN]]);
      expect((await first.admin.createApiKey({ name: "made with the first key", role: PbRole.VIEWER })).secret).toMatch(
        KEY_TEXT,
      );
    });
  });

  it("records refused and mutating calls in the audit trail, for admins only", async () => {
    const denied = await auditUntil(
      admin,
      { keyId: keys.viewer.id, procedure: "/weft.v1.RunService/CancelRun" },
      (e) => e.length > 0,
    );
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ keyId: keys.viewer.id, role: PbRole.VIEWER, outcome: "permission_denied" });
    expect(denied[0]!.peer).toMatch(/127\.0\.0\.1/);

    const created = await auditUntil(admin, { keyId: keys.developer.id, procedure: "CreateWorkflow" }, (e) =>
      e.some((x) => x.outcome === "ok"),
    );
    expect(created.filter((e) => e.outcome === "ok").map((e) => e.target)).toEqual(["auth-email"]);

    // The worker refused for its actions: a refused call, by its key.
    const connects = await auditUntil(admin, { keyId: emailKey.id, procedure: "Connect" }, (e) => e.length >= 2);
    expect(connects.filter((e) => e.outcome === "permission_denied")).toHaveLength(1);
    expect(connects.filter((e) => e.outcome !== "permission_denied").map((e) => e.outcome)).toContain("ok");

    // Bad headers, from their own address.
    const refusedHere = await auditUntil(admin, { deniedOnly: true }, (e) =>
      e.some((x) => x.peer.includes(BAD_HEADER_PEER)),
    );
    expect(refusedHere.filter((e) => e.peer.includes(BAD_HEADER_PEER)).map((e) => e.outcome)).toEqual(
      Array(7).fill("unauthenticated"),
    );
    expect(refusedHere.find((e) => e.outcome === "unauthenticated" && e.keyId === "")).toBeDefined();
    expect(refusedHere.filter((e) => e.keyId === revoked.id).map((e) => e.outcome)).toEqual(["unauthenticated"]);

    const deniedOnly = await auditUntil(admin, { deniedOnly: true }, (e) => e.length > 0);
    expect(new Set(deniedOnly.map((e) => e.outcome))).toEqual(new Set(["permission_denied", "unauthenticated"]));
    const all = await auditUntil(admin, {}, (e) => e.length > deniedOnly.length);
    expect(all.some((e) => e.outcome === "ok")).toBe(true);

    expect(await outcome(() => clients.viewer.admin.listAuditEvents({}))).toMatchObject({ code: "PermissionDenied" });
  });

  it("throttles an address after 20 bad keys, while a key known to be good still works from it", async () => {
    const good = open(authClients(a.url, { apiKey: keys.operator.secret, localAddress: THROTTLED_PEER }));
    await good.workflows.listWorkflows({});
    /** One call with a well-formed unknown key from the throttled address; its answer's code and message. */
    const badCall = async (): Promise<{ code: string; message: string }> => {
      const bad = authClients(a.url, { apiKey: randomKey(), localAddress: THROTTLED_PEER });
      try {
        return await outcome(() => bad.workflows.listWorkflows({}));
      } finally {
        bad.close();
      }
    };
    const answers: { code: string; message: string }[] = [];
    const started = Date.now();
    for (let i = 0; i < 25; i++) answers.push(await badCall());
    const seconds = (Date.now() - started) / 1000;
    const codes = answers.map((x) => x.code);
    expect(codes.slice(0, 20)).toEqual(Array(20).fill("Unauthenticated"));
    // Past the budget of 20, only the refill (2 a second while the calls went on) reaches a lookup.
    const later = codes.slice(20);
    expect(
      later.every((c) => c === "ResourceExhausted" || c === "Unauthenticated"),
      later.join(" "),
    ).toBe(true);
    const looked = later.filter((c) => c === "Unauthenticated").length;
    expect(looked, `${later.join(" ")} in ${seconds} s`).toBeLessThanOrEqual(Math.floor(seconds * 2) + 1);
    expect(later.length - looked).toBeGreaterThanOrEqual(2);
    const throttled = answers.slice(20).find((x) => x.code === "ResourceExhausted")!;
    expect(throttled.message).toMatch(/^too many failed authentications from this address; try again in \d+ s$/);

    // The known key, at once, and after its cache entry aged (1 s) while the address stays throttled.
    expect(await outcome(() => good.workflows.listWorkflows({}))).toEqual({ code: "ok", message: "" });
    const goodAt = Date.now();
    const deadline = goodAt + 10_000;
    for (;;) {
      if (Date.now() - goodAt >= 1_200 && (await badCall()).code === "ResourceExhausted") break;
      if (Date.now() > deadline) throw new Error("the address was not throttled again within 10 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await outcome(() => good.workflows.listWorkflows({}))).toEqual({ code: "ok", message: "" });
    // Other addresses are not throttled.
    expect((await outcome(() => clients.viewer.workflows.listWorkflows({}))).code).toBe("ok");
    // The throttled calls are in the audit trail as refused.
    const refused = await auditUntil(admin, { deniedOnly: true }, (e) =>
      e.some((x) => x.peer.includes(THROTTLED_PEER) && x.outcome === "resource_exhausted"),
    );
    const fromThere = refused.filter((e) => e.peer.includes(THROTTLED_PEER)).map((e) => e.outcome);
    expect(fromThere.filter((o) => o === "unauthenticated").length).toBeGreaterThanOrEqual(20);
  });
});
