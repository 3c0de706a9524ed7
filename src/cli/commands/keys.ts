/**
 * `weft keys create|ls|revoke`: API keys (an admin key is needed), and
 * `weft audit ls`: the audit trail.
 *
 * @example
 *   weft keys create ci-deployer --role developer
 *   weft keys create billing-workers --role worker --actions 'billing.*'
 */
import { toJson } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Option, type Command } from "commander";
import { ApiKeySchema, AuditEventSchema, Role, type ApiKey } from "../../../gen/weft/v1/admin_service_pb.js";
import type { CliContext } from "../context.js";
import { parseSince } from "../context.js";
import { UsageError } from "../errors.js";

type Run = (
  action: (ctx: CliContext, ...args: never[]) => Promise<number | void>,
) => (...args: unknown[]) => Promise<void>;

const ROLE_NAMES = ["admin", "developer", "operator", "viewer", "worker"] as const;
const ROLE_OF: Record<(typeof ROLE_NAMES)[number], Role> = {
  admin: Role.ADMIN,
  developer: Role.DEVELOPER,
  operator: Role.OPERATOR,
  viewer: Role.VIEWER,
  worker: Role.WORKER,
};

const roleName = (r: Role): string => ROLE_NAMES.find((n) => ROLE_OF[n] === r) ?? "";
const when = (t: ApiKey["createTime"]): string =>
  t
    ? timestampDate(t)
        .toISOString()
        .replace(/\.\d+Z$/, "Z")
    : "";

/** Registers `keys` on the program. */
export function registerKeyCommands(program: Command, run: Run): void {
  const keys = program.command("keys").description("API keys (needs an admin key)");
  keys
    .command("create <name>")
    .description("create a key; its secret is printed once")
    .addOption(new Option("--role <role>", "what the key may do").choices(ROLE_NAMES).makeOptionMandatory())
    .option("--actions <patterns>", "worker keys: comma-separated action patterns (`*` matches any characters)")
    .option(
      "--namespaces <names>",
      "comma-separated namespaces the key may act in, `*` for all (default: all for admin, else default)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  weft keys create alice --role developer --namespaces billing,ops\n  weft keys create mail-pool --role worker --actions 'email.*'",
    )
    .action(
      run(
        async (
          ctx,
          name: string,
          opts: { role: (typeof ROLE_NAMES)[number]; actions?: string; namespaces?: string },
        ) => {
          const actionPatterns = commaList(opts.actions);
          if (opts.role === "worker" && actionPatterns.length === 0) {
            throw new UsageError("--actions is required for --role worker (e.g. --actions 'email.*', or '*' for all)");
          }
          const namespaces = commaList(opts.namespaces);
          const res = await ctx.client.admin.createApiKey({
            name,
            role: ROLE_OF[opts.role],
            actionPatterns,
            namespaces,
          });
          if (ctx.out.format !== "table") {
            return ctx.out.data({ key: res.key ? toJson(ApiKeySchema, res.key) : null, secret: res.secret });
          }
          const where = res.key?.namespaces.join(",") ?? "";
          ctx.out.line(`created key ${res.key?.id} (${opts.role}, namespaces ${where}). Its secret, shown only now:`);
          ctx.out.line(res.secret);
        },
      ),
    );
  keys
    .command("ls")
    .description("list keys, newest first (no secrets)")
    .addHelpText("after", "\nExample:\n  weft keys ls -o json")
    .action(
      run(async (ctx) => {
        const { keys: items } = await ctx.client.admin.listApiKeys({});
        if (ctx.out.format !== "table") return ctx.out.data(items.map((k) => toJson(ApiKeySchema, k)));
        ctx.out.table(
          ["ID", "NAME", "ROLE", "NAMESPACES", "ACTIONS", "CREATED", "REVOKED"],
          items.map((k) => [
            k.id,
            k.name,
            roleName(k.role),
            k.namespaces.join(","),
            k.actionPatterns.join(","),
            when(k.createTime),
            when(k.revokeTime),
          ]),
        );
      }),
    );
  keys
    .command("revoke <id>")
    .description("revoke a key: every replica refuses it within 2 seconds")
    .addHelpText("after", "\nExample:\n  weft keys revoke 3f9a0c12d4e5")
    .action(
      run(async (ctx, id: string) => {
        const { key } = await ctx.client.admin.revokeApiKey({ id });
        if (ctx.out.format !== "table") return ctx.out.data(key ? toJson(ApiKeySchema, key) : null);
        ctx.out.line(`revoked key ${id} (${key?.name ?? ""})`);
      }),
    );
}

/** `a, b,,c` → ["a", "b", "c"]. */
function commaList(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Registers `audit ls` on the program. */
export function registerAuditCommand(program: Command, run: Run): void {
  program
    .command("audit")
    .description("the audit trail (needs an admin key)")
    .command("ls")
    .description("mutating and refused calls, newest first")
    .option("--since <duration>", "only events this recent, e.g. 1h")
    .option("--key <id>", "only calls made with this key")
    .option("--procedure <name>", "only this RPC, e.g. CreateWorkflow")
    .option("--denied", "only refused calls")
    .option("--limit <n>", "at most this many events", "100")
    .addHelpText("after", "\nExample:\n  weft audit ls --since 1h --denied")
    .action(
      run(async (ctx, opts: { since?: string; key?: string; procedure?: string; denied?: boolean; limit: string }) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError("--limit: 1 to 1000");
        const { events } = await ctx.client.admin.listAuditEvents({
          ...(opts.since ? { startTime: timestampFromMs(Date.now() - parseSince(opts.since)) } : {}),
          keyId: opts.key ?? "",
          procedure: opts.procedure ?? "",
          deniedOnly: opts.denied ?? false,
          pageSize: limit,
        });
        if (ctx.out.format !== "table") return ctx.out.data(events.map((e) => toJson(AuditEventSchema, e)));
        ctx.out.table(
          ["TIME", "KEY", "ROLE", "NAMESPACE", "CALL", "TARGET", "OUTCOME", "PEER"],
          events.map((e) => [
            when(e.time),
            e.keyId,
            roleName(e.role),
            e.namespace,
            e.procedure.replace(/^\/weft\.v1\./, ""),
            e.target,
            e.outcome,
            e.peer,
          ]),
        );
      }),
    );
}
