/**
 * The outbound policy of `http.request`, `webhook` and run webhooks: which
 * addresses the server may call. A workflow author chooses the URL, so
 * without it anyone who may define a workflow could make the server call its
 * own network (server-side request forgery).
 *
 * Rules are hostnames (`billing.internal`, `*.example.com` for any name
 * under it) and networks (`10.0.0.0/8`, `fd00::/8`, or one address). They
 * are decided in this order: an `--egress-deny` rule denies; an
 * `--egress-allow` rule allows; the internal ranges (`INTERNAL_RANGES`:
 * loopback, private, link-local and metadata, shared, unspecified) are
 * denied while auth is on; anything else is allowed. IPv4-mapped
 * (`::ffff:10.0.0.5`) and NAT64 (`64:ff9b::10.0.0.5`) addresses are judged
 * as the IPv4 address they carry as well as themselves.
 *
 * @example
 * ```ts
 * const policy = createEgressPolicy({ allow: ["10.1.0.0/16"], deny: [], denyInternal: true });
 * policy.check("billing.internal", "10.1.2.3"); // { allowed: true }
 * policy.check("127.0.0.1", "127.0.0.1"); // { allowed: false, reason: "127.0.0.1 is in the loopback range …" }
 * ```
 */
import { BlockList, isIP } from "node:net";

/** The ranges denied while auth is on; the first one that holds an address names it. */
export const INTERNAL_RANGES: readonly { cidr: string; what: string }[] = [
  { cidr: "169.254.169.254/32", what: "cloud metadata" },
  { cidr: "127.0.0.0/8", what: "loopback" },
  { cidr: "::1/128", what: "loopback" },
  { cidr: "10.0.0.0/8", what: "private" },
  { cidr: "172.16.0.0/12", what: "private" },
  { cidr: "192.168.0.0/16", what: "private" },
  { cidr: "fc00::/7", what: "private (unique local)" },
  { cidr: "169.254.0.0/16", what: "link-local" },
  { cidr: "fe80::/10", what: "link-local" },
  { cidr: "100.64.0.0/10", what: "shared (carrier-grade NAT)" },
  { cidr: "0.0.0.0/8", what: '"this network"' },
  { cidr: "::/128", what: "unspecified" },
];

/** What the policy says about one address. */
export type EgressVerdict = { allowed: true } | { allowed: false; reason: string };

export interface EgressPolicy {
  /**
   * Whether a request may go to `address`, asked for under the name `host`
   * (the address itself when the URL holds one).
   */
  check(host: string, address: string): EgressVerdict;
}

/** One parsed rule: a hostname (exact, or every name under a `*.` suffix) or a network. */
type Rule =
  { text: string; kind: "name"; name: string; wildcard: boolean } | { text: string; kind: "net"; list: BlockList };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Reads one `--egress-allow` / `--egress-deny` entry; throws an Error naming
 * it when it is neither a hostname, an address nor a network.
 *
 * @example
 * parseEgressRule("*.example.com"); // a rule for every name under example.com
 * parseEgressRule("10.0.0.0/33"); // throws: 10.0.0.0/33 is not ...
 */
export function parseEgressRule(entry: string): Rule {
  const text = entry.trim().toLowerCase();
  const net = parseNetwork(text);
  if (net) return { text, kind: "net", list: net };
  const wildcard = text.startsWith("*.");
  const name = bareHost(wildcard ? text.slice(2) : text);
  const labels = name.split(".");
  // A name whose last label is all digits is a mistyped address (10.0.0.300), not a host.
  if (labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels.at(-1)!))
    return { text, kind: "name", name, wildcard };
  throw new Error(
    `"${entry}" is not a hostname (api.example.com, *.example.com), an address (10.0.0.5, ::1) or a network (10.0.0.0/8, fd00::/8)`,
  );
}

/** An address or CIDR network as a BlockList, or undefined when `text` is neither. */
function parseNetwork(text: string): BlockList | undefined {
  const [address = "", prefix, extra] = bareHost(text).split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
  if (bits < 0 || bits > max) return undefined;
  const list = new BlockList();
  list.addSubnet(address, bits, family === 4 ? "ipv4" : "ipv6");
  return list;
}

/**
 * Splits a comma-separated list of rules and checks each (throws naming the
 * first bad one); the entries as given, trimmed, empty ones dropped.
 *
 * @example
 * parseEgressList("10.0.0.0/8, *.internal"); // ["10.0.0.0/8", "*.internal"]
 */
export function parseEgressList(text: string): string[] {
  const entries = text
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  for (const e of entries) parseEgressRule(e);
  return entries;
}

/**
 * The policy of `allow` and `deny` rules (checked with `parseEgressRule`);
 * `denyInternal` (auth is on) denies `INTERNAL_RANGES` unless allowed.
 *
 * @example
 * const open = createEgressPolicy({ allow: [], deny: [], denyInternal: false }); // a laptop calls localhost
 */
export function createEgressPolicy(opts: { allow: string[]; deny: string[]; denyInternal: boolean }): EgressPolicy {
  const allow = opts.allow.map(parseEgressRule);
  const deny = opts.deny.map(parseEgressRule);
  const internal = INTERNAL_RANGES.map((r) => ({ ...r, rule: parseEgressRule(r.cidr) }));
  return {
    check(rawHost, rawAddress) {
      const host = bareHost(rawHost);
      const address = bareHost(rawAddress);
      const forms = addressForms(address);
      const subject = host === address ? address : `${host} (resolved to ${address})`;
      const denied = deny.find((r) => matches(r, host, forms));
      if (denied) return { allowed: false, reason: `${subject} is denied by --egress-deny ${denied.text}` };
      if (allow.some((r) => matches(r, host, forms))) return { allowed: true };
      const range = opts.denyInternal ? internal.find((r) => matches(r.rule, host, forms)) : undefined;
      if (!range) return { allowed: true };
      return {
        allowed: false,
        reason: `${subject} is in the ${range.what} range ${range.cidr}, denied while auth is on; allow it with --egress-allow ${range.cidr}`,
      };
    },
  };
}

function matches(rule: Rule, host: string, forms: readonly Form[]): boolean {
  if (rule.kind === "name") return rule.wildcard ? host.endsWith(`.${rule.name}`) : host === rule.name;
  return forms.some((f) => rule.list.check(f.address, f.family));
}

type Form = { address: string; family: "ipv4" | "ipv6" };

/** An address and, for an IPv6 one that carries an IPv4 address, that one too; none for a non-address. */
function addressForms(address: string): Form[] {
  const family = isIP(address);
  if (family === 4) return [{ address, family: "ipv4" }];
  if (family !== 6) return [];
  const plain = address.split("%")[0]!; // a zone id (fe80::1%eth0) is not part of the address
  const v4 = embeddedIpv4(plain);
  return [{ address: plain, family: "ipv6" }, ...(v4 ? [{ address: v4, family: "ipv4" as const }] : [])];
}

/**
 * The IPv4 address inside an IPv4-mapped (`::ffff:0:0/96`) or NAT64
 * (`64:ff9b::/96`) IPv6 address: connecting to either reaches that IPv4
 * address, so the policy judges it too.
 *
 * @example
 * embeddedIpv4("::ffff:a00:5"); // "10.0.0.5"
 * embeddedIpv4("2001:db8::1"); // undefined
 */
export function embeddedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (!g) return undefined;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const mapped = zeros(0, 5) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6);
  if (!mapped && !nat64) return undefined;
  return [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join(".");
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail included). */
function ipv6Groups(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.toLowerCase();
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const front = head ? head.split(":") : [];
  const back = rest ? rest.split(":") : [];
  const middle = rest === undefined ? [] : Array<string>(8 - front.length - back.length).fill("0");
  return [...front, ...middle, ...back].map((h) => parseInt(h, 16));
}

/**
 * A URL's hostname as the policy compares it: lower case, without IPv6
 * brackets or a trailing dot (`localhost.` is `localhost`).
 *
 * @example
 * bareHost("[::1]"); // "::1"
 */
export function bareHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
}
