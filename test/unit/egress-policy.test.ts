/**
 * The outbound policy (src/builtins/egress-policy.ts): rule parsing, hostname
 * and network matching (IPv4, IPv6, IPv4-mapped and NAT64 forms), the internal
 * ranges denied while auth is on, and the order deny > allow > default. Also
 * the configuration of its two lists.
 */
import { describe, expect, it } from "vitest";
import {
  bareHost,
  createEgressPolicy,
  embeddedIpv4,
  parseEgressList,
  parseEgressRule,
} from "../../src/builtins/egress-policy.js";
import { ConfigError, loadConfig } from "../../src/config.js";

const authOn = createEgressPolicy({ allow: [], deny: [], denyInternal: true });
const authOff = createEgressPolicy({ allow: [], deny: [], denyInternal: false });

describe("the internal ranges", () => {
  it.each([
    ["127.0.0.1", "loopback range 127.0.0.0/8"],
    ["127.255.0.9", "loopback range 127.0.0.0/8"],
    ["::1", "loopback range ::1/128"],
    ["10.0.0.5", "private range 10.0.0.0/8"],
    ["172.16.0.1", "private range 172.16.0.0/12"],
    ["172.31.255.255", "private range 172.16.0.0/12"],
    ["192.168.1.1", "private range 192.168.0.0/16"],
    ["fd12:3456::1", "private (unique local) range fc00::/7"],
    ["fc00::1", "private (unique local) range fc00::/7"],
    ["169.254.169.254", "cloud metadata range 169.254.169.254/32"],
    ["169.254.1.1", "link-local range 169.254.0.0/16"],
    ["fe80::1", "link-local range fe80::/10"],
    ["fe80::1%eth0", "link-local range fe80::/10"],
    ["100.64.0.1", "shared (carrier-grade NAT) range 100.64.0.0/10"],
    ["0.0.0.0", '"this network" range 0.0.0.0/8'],
    ["::", "unspecified range ::/128"],
    ["::ffff:127.0.0.1", "loopback range 127.0.0.0/8"],
    ["::ffff:a00:5", "private range 10.0.0.0/8"],
    ["::ffff:169.254.169.254", "cloud metadata range"],
    ["64:ff9b::10.0.0.5", "private range 10.0.0.0/8"],
  ])("%s is denied while auth is on (%s), allowed while it is off", (address, range) => {
    const verdict = authOn.check(address, address);
    expect(verdict.allowed).toBe(false);
    expect(!verdict.allowed && verdict.reason).toContain(range);
    expect(!verdict.allowed && verdict.reason).toContain("denied while auth is on; allow it with --egress-allow");
    expect(authOff.check(address, address)).toEqual({ allowed: true });
  });

  it.each([
    "8.8.8.8",
    "172.32.0.1",
    "172.15.255.255",
    "100.128.0.1",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "1.0.0.1",
  ])("%s is a public address: allowed even while auth is on", (address) => {
    expect(authOn.check(address, address)).toEqual({ allowed: true });
  });

  it("names the host, the address it resolved to, the range and the allow to add", () => {
    expect(authOn.check("localhost", "127.0.0.1")).toEqual({
      allowed: false,
      reason:
        "localhost (resolved to 127.0.0.1) is in the loopback range 127.0.0.0/8, denied while auth is on; allow it with --egress-allow 127.0.0.0/8",
    });
  });
});

describe("allow and deny rules", () => {
  it.each([
    // [allow, deny, host, address, allowed]
    [["10.0.0.0/8"], [], "10.0.0.5", "10.0.0.5", true],
    [["10.1.0.0/16"], [], "10.2.0.5", "10.2.0.5", false],
    [["10.0.0.5"], [], "10.0.0.5", "10.0.0.5", true],
    [["10.0.0.5"], [], "10.0.0.6", "10.0.0.6", false],
    [["127.0.0.1"], [], "::ffff:127.0.0.1", "::ffff:127.0.0.1", true],
    [["fd00::/8"], [], "fd00::7", "fd00::7", true],
    [["[::1]"], [], "[::1]", "::1", true],
    [["billing.internal"], [], "billing.internal", "10.9.9.9", true],
    [["billing.internal"], [], "other.internal", "10.9.9.9", false],
    [["BILLING.internal"], [], "billing.internal.", "10.9.9.9", true],
    [["*.corp.example"], [], "api.eu.corp.example", "192.168.3.4", true],
    [["*.corp.example"], [], "corp.example", "192.168.3.4", false],
    [["*.corp.example"], [], "evilcorp.example", "192.168.3.4", false],
    // An explicit deny wins over an allow and over the default.
    [["10.0.0.0/8"], ["10.0.0.5"], "10.0.0.5", "10.0.0.5", false],
    [["*.corp.example"], ["secret.corp.example"], "secret.corp.example", "192.168.3.4", false],
    [[], ["93.184.0.0/16"], "example.com", "93.184.215.14", false],
    [[], ["example.com"], "example.com", "93.184.215.14", false],
    [[], ["example.com"], "www.example.com", "93.184.215.14", true],
    [[], ["*.example.com"], "www.example.com", "93.184.215.14", false],
    [[], ["2001:db8::/32"], "v6.example", "2001:db8::1", false],
    [[], ["8.8.8.8"], "dns.example", "::ffff:8.8.8.8", false],
    [[], ["64:ff9b::/96"], "nat64.example", "64:ff9b::808:808", false],
  ] as const)("allow %j deny %j: %s at %s allowed %s (auth on)", (allow, deny, host, address, allowed) => {
    const policy = createEgressPolicy({ allow: [...allow], deny: [...deny], denyInternal: true });
    expect(policy.check(host, address).allowed).toBe(allowed);
  });

  it("a deny names its rule; it applies with auth off too", () => {
    const policy = createEgressPolicy({ allow: ["127.0.0.1"], deny: ["127.0.0.0/8"], denyInternal: false });
    expect(policy.check("127.0.0.1", "127.0.0.1")).toEqual({
      allowed: false,
      reason: "127.0.0.1 is denied by --egress-deny 127.0.0.0/8",
    });
    expect(policy.check("8.8.8.8", "8.8.8.8")).toEqual({ allowed: true });
  });
});

describe("rule parsing", () => {
  it.each([
    "10.0.0.0/8",
    "10.0.0.5",
    "::1",
    "fd00::/8",
    "[::1]",
    "api.example.com",
    "*.example.com",
    "localhost",
    "a-b.c",
  ])("%s is a rule", (entry) => {
    expect(() => parseEgressRule(entry)).not.toThrow();
  });

  it.each([
    "10.0.0.0/33",
    "fd00::/129",
    "10.0.0.300",
    "10.0.0.0/8/1",
    "http://x.example",
    "*",
    "*.",
    "a..b",
    "-a.example",
    "x/8",
    "10.0.0.0/-1",
    "*.10.0.0.1",
  ])("%s is refused, named in the error", (entry) => {
    expect(() => parseEgressRule(entry)).toThrow(`"${entry}" is not a hostname`);
  });

  it("a list is split on commas, trimmed, without empty entries", () => {
    expect(parseEgressList(" 10.0.0.0/8 , *.internal,,")).toEqual(["10.0.0.0/8", "*.internal"]);
    expect(parseEgressList("")).toEqual([]);
  });

  it("embeddedIpv4 finds the IPv4 address of mapped and NAT64 forms only", () => {
    expect(embeddedIpv4("::ffff:a00:5")).toBe("10.0.0.5");
    expect(embeddedIpv4("::ffff:10.0.0.5")).toBe("10.0.0.5");
    expect(embeddedIpv4("64:ff9b::7f00:1")).toBe("127.0.0.1");
    expect(embeddedIpv4("2001:db8::a00:5")).toBeUndefined();
    expect(embeddedIpv4("::1")).toBeUndefined();
    expect(bareHost("[FE80::1]")).toBe("fe80::1");
  });
});

describe("configuration", () => {
  it("reads both lists from flags or the environment; empty by default", () => {
    expect(loadConfig([], {}).egressAllow).toEqual([]);
    expect(loadConfig(["--egress-allow", "10.0.0.0/8,billing.internal"], {}).egressAllow).toEqual([
      "10.0.0.0/8",
      "billing.internal",
    ]);
    expect(loadConfig([], { WEFT_EGRESS_DENY: "169.254.169.254" }).egressDeny).toEqual(["169.254.169.254"]);
  });

  it("a bad entry is a ConfigError naming the setting and the entry", () => {
    expect(() => loadConfig(["--egress-deny", "10.0.0.0/8,10.0.0.0/99"], {})).toThrow(ConfigError);
    expect(() => loadConfig(["--egress-deny", "10.0.0.0/8,10.0.0.0/99"], {})).toThrow(
      /--egress-deny \/ WEFT_EGRESS_DENY: "10\.0\.0\.0\/99" is not a hostname/,
    );
    expect(() => loadConfig([], { WEFT_EGRESS_ALLOW: "http://a.example" })).toThrow(
      /--egress-allow \/ WEFT_EGRESS_ALLOW: "http:\/\/a\.example"/,
    );
  });
});
