/**
 * Access control, as the server composes it: decides the mode at start,
 * and when keys are on builds the authenticator (keys read from the store,
 * cached 1 s), the throttle, the audit writer and its retention loop, and the
 * interceptor every call passes.
 *
 * @example
 *   const access = await startAccessControl({ config, store, logger, print: (t) => process.stderr.write(t) });
 *   createHttpServer({ interceptors: access.interceptors, ... });
 *   await access.close();
 */
import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "../log.js";
import type { AccessStore } from "../store/index.js";
import { createAuditWriter } from "./audit-writer.js";
import { startAuditRetention } from "./audit-retention.js";
import { createAuthInterceptor } from "./auth-interceptor.js";
import { createAuthenticator, type StoredKey } from "./authenticator.js";
import { ensureFirstKey } from "./bootstrap-key.js";
import { isRole } from "./roles.js";
import { createNamespaceInterceptor } from "./namespace.js";
import { createAuthThrottle } from "./throttle.js";

export { resolveAuthMode, isLoopback } from "./auth-mode.js";
export { namespaceKey, principalKey, type Principal } from "./principal.js";
export { NAMESPACE_HEADER } from "./namespace.js";
export { actionsOutside } from "./action-patterns.js";

export interface AccessControl {
  /** With keys: authentication, roles, namespaces, audit; without: the namespace header only. */
  interceptors: Interceptor[];
  close(): Promise<void>;
}

/**
 * @example
 *   await startAccessControl({ mode: "keys", access: store.access, auditRetentionDays: 90, logger, print });
 */
export async function startAccessControl(opts: {
  mode: "keys" | "none";
  access: AccessStore;
  adminKey?: string | undefined;
  auditRetentionDays: number;
  logger: Logger;
  /** Where the first admin key is shown (stderr). */
  print: (text: string) => void;
  /** How long a replica trusts a key it read (default 1000 ms). */
  keyCacheMs?: number;
}): Promise<AccessControl> {
  if (opts.mode === "none") return { interceptors: [createNamespaceInterceptor()], close: () => Promise.resolve() };
  const { access, logger } = opts;
  if (opts.adminKey === undefined) {
    const id = await ensureFirstKey(access, opts.print);
    if (id !== undefined) logger.warn({ keyId: id }, "auth: created the first admin key (printed on stderr)");
  }
  const audit = createAuditWriter({ append: (rows) => access.appendAudit(rows), logger });
  const stopRetention = startAuditRetention({ access, days: opts.auditRetentionDays, logger });
  const authenticator = createAuthenticator({
    lookup: async (id) => storedKey(await access.findKey(id)),
    throttle: createAuthThrottle({ burst: 20, perSecond: 2 }),
    adminKey: opts.adminKey,
    ...(opts.keyCacheMs === undefined ? {} : { ttlMs: opts.keyCacheMs }),
  });
  logger.info("auth: every call needs an API key");
  return {
    interceptors: [createAuthInterceptor({ authenticator, audit })],
    async close() {
      stopRetention();
      await audit.close();
    },
  };
}

function storedKey(row: Awaited<ReturnType<AccessStore["findKey"]>>): StoredKey | undefined {
  if (row === undefined || !isRole(row.role)) return undefined;
  return {
    id: row.id,
    sha256: row.sha256,
    role: row.role,
    actionPatterns: row.actionPatterns,
    namespaces: row.namespaces,
    revoked: row.revokedAt !== undefined,
  };
}
