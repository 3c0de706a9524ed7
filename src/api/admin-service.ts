/**
 * `weft.v1.AdminService`: API keys and the audit trail (admins only; the
 * auth interceptor enforces that before a handler runs).
 *
 * @example
 *   registerAdminService(router, { access: store.access });
 */
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  AdminService,
  ApiKeySchema,
  AuditEventSchema,
  Role as PbRole,
  type ApiKey,
  type AuditEvent,
} from "../../gen/weft/v1/admin_service_pb.js";
import type { AccessStore, ApiKeyRecord, AuditEventRecord } from "../store/index.js";
import { newApiKey } from "../security/api-key.js";
import { ALL_NAMESPACES, DEFAULT_NAMESPACE } from "../engine/namespace.js";
import { principalKey, type Principal } from "../security/principal.js";
import { isRole, type Role } from "../security/roles.js";
import { invalidArgument, notFound } from "./errors.js";

const ROLE_TO_PROTO: Record<Role, PbRole> = {
  admin: PbRole.ADMIN,
  developer: PbRole.DEVELOPER,
  operator: PbRole.OPERATOR,
  viewer: PbRole.VIEWER,
  worker: PbRole.WORKER,
};

export function registerAdminService(router: ConnectRouter, deps: { access: AccessStore }): void {
  const { access } = deps;
  router.service(AdminService, {
    async createApiKey(req, ctx) {
      const role = roleFromProto(req.role);
      if (role === "worker" && req.actionPatterns.length === 0) {
        throw invalidArgument([
          {
            field: "action_patterns",
            description: "a worker key needs the action patterns it may serve (`*` for all)",
          },
        ]);
      }
      if (role !== "worker" && req.actionPatterns.length > 0) {
        throw invalidArgument([{ field: "action_patterns", description: `only worker keys have action patterns` }]);
      }
      const namespaces = keyNamespaces(role, req.namespaces, ctx.values.get(principalKey));
      const key = newApiKey();
      const record = await access.createKey({
        id: key.id,
        sha256: key.sha256,
        name: req.name,
        role,
        actionPatterns: [...req.actionPatterns],
        namespaces,
        ...createdBy(ctx),
      });
      return { key: keyToProto(record), secret: key.secret };
    },
    async listApiKeys() {
      return { keys: (await access.listKeys()).map(keyToProto) };
    },
    async revokeApiKey(req) {
      const record = await access.revokeKey(req.id);
      if (record === undefined) throw notFound(`API key "${req.id}" not found`);
      return { key: keyToProto(record) };
    },
    async listAuditEvents(req) {
      const page = await access.listAudit({
        ...(req.startTime ? { since: timestampDate(req.startTime) } : {}),
        ...(req.endTime ? { before: timestampDate(req.endTime) } : {}),
        ...(req.keyId ? { keyId: req.keyId } : {}),
        ...(req.procedure ? { procedure: req.procedure } : {}),
        deniedOnly: req.deniedOnly,
        pageSize: req.pageSize || 100,
        ...(req.pageToken ? { pageToken: req.pageToken } : {}),
      });
      return { events: page.items.map(auditToProto), nextPageToken: page.next ?? "" };
    },
  });
}

function createdBy(ctx: HandlerContext): { createdBy?: string } {
  const caller = ctx.values.get(principalKey);
  return caller ? { createdBy: caller.keyId } : {};
}

/**
 * The namespaces of a new key: the ones asked for, else every one for an
 * admin key and `default` for the others. A key never reaches further than
 * the key that makes it.
 */
function keyNamespaces(role: Role, asked: readonly string[], caller: Principal | undefined): string[] {
  const namespaces = asked.length > 0 ? [...asked] : role === "admin" ? [ALL_NAMESPACES] : [DEFAULT_NAMESPACE];
  const reach = caller?.namespaces;
  if (reach === undefined || reach.includes(ALL_NAMESPACES)) return namespaces;
  const beyond = namespaces.filter((n) => !reach.includes(n));
  if (beyond.length > 0) {
    throw new ConnectError(
      `API key ${caller!.keyId} may not make a key for namespaces it lacks: ${beyond.join(", ")}`,
      Code.PermissionDenied,
    );
  }
  return namespaces;
}

function roleFromProto(role: PbRole): Role {
  const found = (Object.keys(ROLE_TO_PROTO) as Role[]).find((r) => ROLE_TO_PROTO[r] === role);
  if (found === undefined) throw invalidArgument([{ field: "role", description: "a role is required" }]);
  return found;
}

function roleToProto(role: string | undefined): PbRole {
  return role !== undefined && isRole(role) ? ROLE_TO_PROTO[role] : PbRole.UNSPECIFIED;
}

function keyToProto(k: ApiKeyRecord): ApiKey {
  return create(ApiKeySchema, {
    id: k.id,
    name: k.name,
    role: roleToProto(k.role),
    actionPatterns: k.actionPatterns,
    namespaces: k.namespaces,
    createTime: timestampFromDate(k.createdAt),
    revokeTime: k.revokedAt ? timestampFromDate(k.revokedAt) : undefined,
    createdBy: k.createdBy ?? "",
  });
}

function auditToProto(e: AuditEventRecord): AuditEvent {
  return create(AuditEventSchema, {
    id: e.id,
    time: timestampFromDate(e.time),
    keyId: e.keyId ?? "",
    role: roleToProto(e.role),
    procedure: e.procedure,
    namespace: e.namespace ?? "",
    target: e.target ?? "",
    outcome: e.outcome,
    peer: e.peer ?? "",
  });
}
