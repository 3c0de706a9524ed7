/**
 * Roles and what each may call. `PROCEDURE_ACCESS` is the one table the
 * server enforces (`auth-interceptor.ts`) and docs/security.md prints
 * (a test compares the two, and checks every served RPC is listed).
 *
 * @example
 *   mayCall("viewer", "/weft.v1.RunService/CancelRun"); // false
 */
export const ROLES = ["admin", "developer", "operator", "viewer", "worker"] as const;
export type Role = (typeof ROLES)[number];

/** Who may call a procedure: nobody needs a key, any valid key, or one of these roles. */
export type Access = "public" | "any-key" | readonly Role[];

const READ: readonly Role[] = ["admin", "developer", "operator", "viewer"];
const TRIGGER: readonly Role[] = ["admin", "developer", "operator"];
const AUTHOR: readonly Role[] = ["admin", "developer"];
const ADMIN: readonly Role[] = ["admin"];

/** Every procedure the server serves, by its path. A procedure missing here is refused to all but admins. */
export const PROCEDURE_ACCESS: Readonly<Record<string, Access>> = {
  "/weft.v1.WorkflowService/CreateWorkflow": AUTHOR,
  "/weft.v1.WorkflowService/GetWorkflow": READ,
  "/weft.v1.WorkflowService/ListWorkflows": READ,
  "/weft.v1.WorkflowService/DeleteWorkflow": AUTHOR,
  "/weft.v1.WorkflowService/TriggerWorkflow": TRIGGER,
  "/weft.v1.WorkflowService/TriggerWorkflows": TRIGGER,
  "/weft.v1.WorkflowService/PublishEvent": TRIGGER,
  "/weft.v1.RunService/GetRun": READ,
  "/weft.v1.RunService/ListRuns": READ,
  "/weft.v1.RunService/CancelRun": TRIGGER,
  "/weft.v1.RunService/RetryRun": TRIGGER,
  "/weft.v1.RunService/WatchRun": READ,
  "/weft.v1.RunService/GetRunHistory": READ,
  "/weft.v1.RunService/PurgeRuns": ADMIN,
  "/weft.v1.WorkerService/Connect": ["admin", "developer", "worker"],
  "/weft.v1.WorkerService/ListWorkers": READ,
  "/weft.v1.AdminService/CreateApiKey": ADMIN,
  "/weft.v1.AdminService/ListApiKeys": ADMIN,
  "/weft.v1.AdminService/RevokeApiKey": ADMIN,
  "/weft.v1.AdminService/ListAuditEvents": ADMIN,
  "/grpc.health.v1.Health/Check": "public",
  "/grpc.health.v1.Health/Watch": "public",
  "/grpc.health.v1.Health/List": "public",
  "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": "any-key",
  "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": "any-key",
};

/**
 * Who may call `procedure` (a path such as `/weft.v1.RunService/GetRun`).
 *
 * @example
 *   accessOf("/grpc.health.v1.Health/Check"); // "public"
 */
export function accessOf(procedure: string): Access {
  return PROCEDURE_ACCESS[procedure] ?? ADMIN;
}

/**
 * Whether a key of `role` may call `procedure`.
 *
 * @example
 *   mayCall("operator", "/weft.v1.RunService/RetryRun"); // true
 */
export function mayCall(role: Role, procedure: string): boolean {
  const access = accessOf(procedure);
  return access === "public" || access === "any-key" || access.includes(role);
}

/** Whether `text` names a role. */
export function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}
