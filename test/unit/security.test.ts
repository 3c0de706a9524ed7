import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_weft_v1_admin_service } from "../../gen/weft/v1/admin_service_pb.js";
import { WEFT_FILES } from "../../src/api/routes.js";
import { actionsOutside, matchesAction } from "../../src/security/action-patterns.js";
import { newApiKey, parseApiKey, sameHash, sha256 } from "../../src/security/api-key.js";
import { isLoopback, resolveAuthMode } from "../../src/security/auth-mode.js";
import { createAuthenticator, type StoredKey } from "../../src/security/authenticator.js";
import { mayCall, PROCEDURE_ACCESS, ROLES } from "../../src/security/roles.js";
import { createAuthThrottle } from "../../src/security/throttle.js";

describe("API keys", () => {
  it("have a public id, a secret of 256 bits, and parse back to the same id and hash", () => {
    const a = newApiKey();
    const b = newApiKey();
    expect(a.secret).toMatch(/^weft_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(a.secret.slice(5, 17)).toBe(a.id);
    expect(a.id).not.toBe(b.id);
    const parsed = parseApiKey(a.secret)!;
    expect(parsed.id).toBe(a.id);
    expect(sameHash(parsed.sha256, a.sha256)).toBe(true);
    expect(sameHash(parsed.sha256, b.sha256)).toBe(false);
  });

  it.each([
    "",
    "weft_",
    "hunter2",
    `weft_${"0".repeat(12)}_${"A".repeat(42)}`,
    `WEFT_${"0".repeat(12)}_${"A".repeat(43)}`,
  ])("refuses the shape of %j without a lookup", (text) => expect(parseApiKey(text)).toBeUndefined());

  it("compares hashes of different lengths as different", () => {
    expect(sameHash(sha256("a"), sha256("a").subarray(0, 16))).toBe(false);
  });
});

describe("roles", () => {
  it("list every served RPC (a new RPC without a rule fails here)", () => {
    // Health and reflection too: the server serves every method of theirs.
    const served = [
      ...WEFT_FILES,
      file_weft_v1_admin_service,
      file_grpc_health_v1_health,
      file_grpc_reflection_v1_reflection,
      file_grpc_reflection_v1alpha_reflection,
    ].flatMap((f) => f.services.flatMap((s) => s.methods.map((m) => `/${s.typeName}/${m.name}`)));
    for (const p of served) expect(PROCEDURE_ACCESS, p).toHaveProperty([p]);
  });

  it.each([
    ["admin", "/weft.v1.AdminService/CreateApiKey", true],
    ["developer", "/weft.v1.AdminService/CreateApiKey", false],
    ["developer", "/weft.v1.WorkflowService/CreateWorkflow", true],
    ["operator", "/weft.v1.WorkflowService/CreateWorkflow", false],
    ["operator", "/weft.v1.RunService/RetryRun", true],
    ["viewer", "/weft.v1.RunService/CancelRun", false],
    ["viewer", "/weft.v1.RunService/WatchRun", true],
    ["worker", "/weft.v1.RunService/GetRun", false],
    ["worker", "/weft.v1.WorkerService/Connect", true],
    ["viewer", "/weft.v1.WorkerService/Connect", false],
    ["worker", "/grpc.health.v1.Health/Check", true],
    ["viewer", "/grpc.health.v1.Health/List", true],
    ["viewer", "/weft.v1.NoSuchService/Anything", false],
    ["admin", "/weft.v1.NoSuchService/Anything", true],
  ] as const)("%s calling %s: %s", (role, procedure, allowed) => {
    expect(mayCall(role, procedure)).toBe(allowed);
  });

  it("match the table of docs/security.md, row by row and role by role", () => {
    const doc = readFileSync(new URL("../../docs/security.md", import.meta.url), "utf8");
    const rows = [...doc.matchAll(/^\| `([A-Za-z0-9_.]+\/[A-Za-z]+)` \|(.*)\|$/gm)];
    const documented = Object.fromEntries(
      rows.map((m) => [
        `/${m[1]}`,
        m[2]!
          .split("|")
          .slice(0, ROLES.length)
          .map((c) => c.trim() === "yes"),
      ]),
    );
    const enforced = Object.fromEntries(Object.keys(PROCEDURE_ACCESS).map((p) => [p, ROLES.map((r) => mayCall(r, p))]));
    expect(documented).toEqual(enforced);
  });

  it("give admins everything", () => {
    for (const p of Object.keys(PROCEDURE_ACCESS)) expect(mayCall("admin", p)).toBe(true);
    expect(ROLES).toContain("worker");
  });
});

describe("action patterns", () => {
  it.each([
    ["email.send", "email.send", true],
    ["email.send", "email.sends", false],
    ["email.*", "email.send", true],
    ["email.*", "email.", true],
    ["email.*", "sms.send", false],
    ["*", "anything.at.all", true],
    ["*.pdf", "report.pdf", true],
    ["report.*.pdf", "report.daily.pdf", true],
    ["report.*.pdf", "report.pdf", false],
    ["a*b*c", "aXbYc", true],
    ["a*b*c", "acb", false],
    ["ab*ba", "aba", false],
  ])("%s matches %s: %s", (pattern, action, expected) => {
    expect(matchesAction(pattern, action)).toBe(expected);
  });

  it("names the actions outside every pattern", () => {
    expect(actionsOutside(["email.*", "sms.send"], ["email.send", "sms.send", "push.send"])).toEqual(["push.send"]);
    expect(actionsOutside([], ["a"])).toEqual(["a"]);
  });
});

describe("auth mode", () => {
  it.each([
    [{ auth: "auto", host: "127.0.0.1" }, "none"],
    [{ auth: "auto", host: "localhost" }, "none"],
    [{ auth: "auto", host: "::1" }, "none"],
    [{ auth: "auto", host: "0.0.0.0", adminKey: "k".repeat(32) }, "keys"],
    [{ auth: "keys", host: "127.0.0.1" }, "keys"],
    [{ auth: "none", host: "0.0.0.0" }, "none"],
  ] as const)("%j → %s", (opts, mode) => {
    expect(resolveAuthMode(opts)).toMatchObject({ mode });
  });

  it("refuses a public address without credentials, and warns on an explicit --auth none", () => {
    expect(resolveAuthMode({ auth: "auto", host: "0.0.0.0" })).toMatchObject({
      error: expect.stringContaining("WEFT_ADMIN_KEY"),
    });
    expect(resolveAuthMode({ auth: "auto", host: "10.1.2.3" })).toHaveProperty("error");
    expect(resolveAuthMode({ auth: "none", host: "::" })).toMatchObject({ warning: expect.stringContaining("anyone") });
    expect(resolveAuthMode({ auth: "none", host: "127.0.0.1" })).not.toHaveProperty("warning");
  });

  it.each([
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["[::1]", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["192.168.1.4", false],
    ["example.com", false],
  ])("%s is loopback: %s", (host, expected) => expect(isLoopback(host)).toBe(expected));
});

describe("throttle", () => {
  it("refuses an address that used up its budget, refills it over time, and leaves other addresses alone", () => {
    const t = createAuthThrottle({ burst: 3, perSecond: 1 });
    for (let i = 0; i < 3; i++) {
      expect(t.blocked("a", 0)).toBe(0);
      t.failed("a", 0);
    }
    expect(t.blocked("a", 0)).toBe(1);
    expect(t.blocked("b", 0)).toBe(0);
    expect(t.blocked("a", 999)).toBe(1);
    expect(t.blocked("a", 1000)).toBe(0);
  });

  it("forgets the oldest address past its table size", () => {
    const t = createAuthThrottle({ burst: 1, perSecond: 0.001, maxPeers: 2 });
    t.failed("a", 0);
    t.failed("b", 0);
    t.failed("c", 0);
    expect([t.blocked("a", 0), t.blocked("b", 0), t.blocked("c", 0)]).toEqual([
      0,
      expect.any(Number),
      expect.any(Number),
    ]);
    expect(t.blocked("b", 0)).toBeGreaterThan(0);
  });
});

describe("authenticator", () => {
  const good = newApiKey();
  const revoked = newApiKey();
  const rows = new Map<string, StoredKey>([
    [
      good.id,
      {
        id: good.id,
        sha256: good.sha256,
        role: "operator",
        actionPatterns: [],
        namespaces: ["default"],
        revoked: false,
      },
    ],
    [
      revoked.id,
      {
        id: revoked.id,
        sha256: revoked.sha256,
        role: "admin",
        actionPatterns: [],
        namespaces: ["default"],
        revoked: true,
      },
    ],
  ]);
  const setup = (now = { t: 0 }) => {
    const lookups: string[] = [];
    const auth = createAuthenticator({
      lookup: async (id) => {
        lookups.push(id);
        return rows.get(id);
      },
      throttle: createAuthThrottle({ burst: 5, perSecond: 1 }),
      adminKey: "a-bootstrap-key-of-at-least-32-characters",
      now: () => now.t,
    });
    return { auth, lookups, now };
  };

  it("accepts a stored key and the bootstrap key", async () => {
    const { auth } = setup();
    expect(await auth.authenticate(`Bearer ${good.secret}`, "p")).toEqual({
      ok: true,
      principal: { keyId: good.id, role: "operator", actionPatterns: [], namespaces: ["default"] },
    });
    expect(await auth.authenticate("bearer  a-bootstrap-key-of-at-least-32-characters", "p")).toMatchObject({
      ok: true,
      principal: { keyId: "bootstrap", role: "admin", namespaces: ["*"] },
    });
  });

  it.each([
    [null, "needs an API key"],
    ["", "needs an API key"],
    ["Basic dXNlcjpwYXNz", "Bearer <key>"],
    ["Bearer", "Bearer <key>"],
    [`Bearer ${"x".repeat(70_000)}`, "characters long"],
    ["Bearer clé", "printable ASCII"],
    ["Bearer hunter2", "not a Weft API key"],
  ])("refuses %j with a helpful message", async (header, message) => {
    const { auth, lookups } = setup();
    const r = await auth.authenticate(header as string | null, "p");
    expect(r).toMatchObject({ ok: false, throttled: false, message: expect.stringContaining(message) });
    expect(lookups).toEqual([]);
  });

  it("reads an unknown id and a wrong secret for a known id the same way, and refuses a revoked key", async () => {
    const { auth } = setup();
    const unknown = newApiKey();
    const forged = `weft_${good.id}_${"A".repeat(43)}`;
    const a = await auth.authenticate(`Bearer ${unknown.secret}`, "p");
    const b = await auth.authenticate(`Bearer ${forged}`, "p");
    expect(a).toMatchObject({ ok: false, message: `unknown API key ${unknown.id}` });
    expect(b).toMatchObject({ ok: false, message: `unknown API key ${good.id}` });
    expect(await auth.authenticate(`Bearer ${revoked.secret}`, "p")).toMatchObject({
      ok: false,
      message: expect.stringContaining("revoked"),
    });
  });

  it("trusts a looked-up key for the cache time only, sharing lookups in flight", async () => {
    const { auth, lookups, now } = setup();
    await Promise.all([1, 2, 3].map(() => auth.authenticate(`Bearer ${good.secret}`, "p")));
    expect(lookups).toEqual([good.id]);
    now.t = 999;
    await auth.authenticate(`Bearer ${good.secret}`, "p");
    expect(lookups).toHaveLength(1);
    now.t = 1000;
    await auth.authenticate(`Bearer ${good.secret}`, "p");
    expect(lookups).toHaveLength(2);
  });

  it("shares one budget among lookups in flight together, and gives back what a good key was charged", async () => {
    const { auth, lookups } = setup();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => auth.authenticate(`Bearer ${newApiKey().secret}`, "crowd")),
    );
    expect(results.filter((r) => !r.ok && !r.throttled)).toHaveLength(5);
    expect(results.filter((r) => !r.ok && r.throttled)).toHaveLength(15);
    expect(lookups).toHaveLength(5);
    const fresh = setup();
    for (let i = 0; i < 3; i++) await fresh.auth.authenticate(`Bearer ${good.secret}`, `good-${i}`);
    for (let i = 0; i < 5; i++) await fresh.auth.authenticate(`Bearer ${newApiKey().secret}`, "mixed");
    expect(await fresh.auth.authenticate(`Bearer ${newApiKey().secret}`, "mixed")).toMatchObject({ throttled: true });
  });

  it("throttles an address that keeps failing, before any lookup, while a cached good key still works", async () => {
    const { auth, lookups } = setup();
    await auth.authenticate(`Bearer ${good.secret}`, "evil");
    for (let i = 0; i < 5; i++) await auth.authenticate(`Bearer ${newApiKey().secret}`, "evil");
    const before = lookups.length;
    const r = await auth.authenticate(`Bearer ${newApiKey().secret}`, "evil");
    expect(r).toMatchObject({ ok: false, throttled: true, message: expect.stringContaining("too many") });
    expect(lookups).toHaveLength(before);
    expect(await auth.authenticate(`Bearer ${good.secret}`, "evil")).toMatchObject({ ok: true });
    expect(await auth.authenticate(`Bearer ${newApiKey().secret}`, "other")).toMatchObject({ throttled: false });
  });

  it("lets a key it verified through a throttled address after the cache time, looking it up again", async () => {
    const { auth, lookups, now } = setup();
    await auth.authenticate(`Bearer ${good.secret}`, "nat");
    now.t = 900;
    for (let i = 0; i < 5; i++) await auth.authenticate(`Bearer ${newApiKey().secret}`, "nat");
    now.t = 1000; // the key's entry is stale; the address has earned back a tenth of a failure: throttled
    const before = lookups.length;
    expect(await auth.authenticate(`Bearer ${good.secret}`, "nat")).toMatchObject({ ok: true });
    expect(lookups.slice(before)).toEqual([good.id]);
    // Its id with another secret is refused from the cache; a good key never verified here waits like any other.
    const forged = `weft_${good.id}_${"A".repeat(43)}`;
    expect(await auth.authenticate(`Bearer ${forged}`, "nat")).toMatchObject({ ok: false });
    const other = newApiKey();
    rows.set(other.id, {
      id: other.id,
      sha256: other.sha256,
      role: "viewer",
      actionPatterns: [],
      namespaces: ["default"],
      revoked: false,
    });
    expect(await auth.authenticate(`Bearer ${other.secret}`, "nat")).toMatchObject({ ok: false, throttled: true });
    rows.delete(other.id);
    expect(lookups.slice(before)).toEqual([good.id]);
  });
});
