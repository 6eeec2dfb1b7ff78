/**
 * @module The audit log of admin writes: who changed what, from where, when, with the changed fields before and
 * after.
 *
 * Every admin write records its entry with `recordAudit` inside the transaction of the change, so the log and the
 * data cannot disagree: a change that rolls back leaves no entry, and an entry that fails to write rolls the change
 * back. Secrets never enter the log: a password appears as the marker `"<changed>"` (or `"<set>"` on creation),
 * and tokens not at all.
 */
import type { AuditEntry } from "../db/admin-audit.js";
import type { Tables } from "../db/stores.js";
import type { AccountsContext } from "./context.js";

/** Who is making an admin change, and from where. */
export interface AdminActor {
  userId: string;
  deviceId: string | null;
  /** The hash of the admin's access token, so a change to the admin's own account can keep this session. */
  tokenHash: string;
  ip: string;
  /** The admin who made the `login-as` token in use, when `userId` is the user it impersonates. */
  impersonator?: string | null;
}

/** What replaces a password in the log. */
export const PASSWORD_CHANGED = "<changed>";
export const PASSWORD_SET = "<set>";
export const PASSWORD_HIDDEN = "<hidden>";

export async function recordAudit(
  t: Tables,
  ctx: AccountsContext,
  actor: AdminActor,
  action: string,
  target: string | null,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Promise<void> {
  await t.adminAudit.insert({
    ts: ctx.now(),
    actor: actor.userId,
    impersonator: actor.impersonator ?? null,
    action,
    target,
    ip: actor.ip,
    before,
    after,
  });
}

/** `recordAudit` for many changes by one actor at once (a bulk import's batch): one statement, same transaction. */
export async function recordAudits(
  t: Tables,
  ctx: AccountsContext,
  actor: AdminActor,
  entries: { action: string; target: string | null; before: Record<string, unknown>; after: Record<string, unknown> }[],
): Promise<void> {
  const ts = ctx.now();
  const impersonator = actor.impersonator ?? null;
  await t.adminAudit.insertMany(entries.map((e) => ({ ts, actor: actor.userId, impersonator, ip: actor.ip, ...e })));
}

/** One entry as `GET /_gatehouse/admin/v1/audit` returns it (docs/admin-api.md): the stored entry, field for field. */
export type AuditEntryResponse = AuditEntry;

export interface AuditListResponse {
  entries: AuditEntryResponse[];
  total: number;
  next_token?: string;
}

export interface AuditListRequest {
  actor: string | null;
  target: string | null;
  action: string | null;
  fromTs: number | null;
  toTs: number | null;
  /** A `next_token` from the previous page. */
  from: number | null;
  limit: number;
}

function entryResponse(e: AuditEntry): AuditEntryResponse {
  return {
    id: e.id,
    ts: e.ts,
    actor: e.actor,
    action: e.action,
    target: e.target,
    ip: e.ip,
    impersonator: e.impersonator,
    before: e.before,
    after: e.after,
  };
}

/** Newest first; `next_token` is present when older entries remain. */
export async function listAudit(ctx: AccountsContext, req: AuditListRequest): Promise<AuditListResponse> {
  const { entries, total } = await ctx.stores.adminAudit.list({
    actor: req.actor,
    target: req.target,
    action: req.action,
    fromTs: req.fromTs,
    toTs: req.toTs,
    beforeId: req.from,
    limit: req.limit + 1,
  });
  const page = entries.slice(0, req.limit);
  const response: AuditListResponse = { entries: page.map(entryResponse), total };
  if (entries.length > req.limit && page.length > 0) response.next_token = String(page[page.length - 1]!.id);
  return response;
}
