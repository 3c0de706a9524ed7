/**
 * The records of API keys and audit events, and the `AccessStore` that keeps
 * them (implemented in `access-queries.ts`).
 */

/** One page of the audit trail, newest first. */
export interface AuditPage {
  items: AuditEventRecord[];
  /** Opaque cursor for the next page; undefined on the last one. */
  next?: string;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  /** One of the roles of `src/security/roles.ts`. */
  role: string;
  actionPatterns: string[];
  /** The namespaces the key may act in; `*` is every one. */
  namespaces: string[];
  createdBy?: string;
  createdAt: Date;
  revokedAt?: Date;
  /** SHA-256 of the whole key. */
  sha256: Uint8Array;
}

export interface NewApiKeyRow {
  id: string;
  sha256: Uint8Array;
  name: string;
  role: string;
  actionPatterns: string[];
  namespaces: string[];
  createdBy?: string;
}

export interface AuditEventRecord {
  id: bigint;
  time: Date;
  keyId?: string;
  role?: string;
  procedure: string;
  /** The namespace the call acted in (absent when refused before one was chosen). */
  namespace?: string;
  target?: string;
  outcome: string;
  peer?: string;
}

export type NewAuditEvent = Omit<AuditEventRecord, "id" | "time">;

export interface AuditFilter {
  since?: Date;
  before?: Date;
  keyId?: string;
  /** A full procedure path, or a method name matched as its last segment. */
  procedure?: string;
  deniedOnly?: boolean;
  pageSize: number;
  pageToken?: string;
}

/** What the control plane keeps about who may call it. */
export interface AccessStore {
  createKey(row: NewApiKeyRow): Promise<ApiKeyRecord>;
  /** Newest first, revoked keys included. */
  listKeys(): Promise<ApiKeyRecord[]>;
  findKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** Sets `revokedAt` once (a second revoke keeps the first time); undefined when the key does not exist. */
  revokeKey(id: string): Promise<ApiKeyRecord | undefined>;
  countKeys(): Promise<number>;
  appendAudit(events: readonly NewAuditEvent[]): Promise<void>;
  /** Newest first. */
  listAudit(filter: AuditFilter): Promise<AuditPage>;
  /** Deletes up to `limit` events older than `before`; returns how many. */
  purgeAudit(before: Date, limit: number): Promise<number>;
}
