/**
 * @module Bulk import of accounts (`gatehouse user import`, `POST /_gatehouse/admin/v1/users/import`).
 *
 * New accounts go through registration's own steps (`prepareAccount` for the username rules, the password policy
 * and hashing, `writeAccounts` for the insert), a thousand to a transaction; changes to existing accounts use the
 * admin API's pieces (`hashNewPassword`, `writePassword`, `addThreepids`). What this module adds is doing it in
 * bulk: one query finds which names already exist and one which e-mail addresses are taken, per chunk, and each
 * chunk's accounts, addresses and audit entries land in one transaction. Each created or changed account gets its
 * own audit entry (`user.create`/`user.modify`, as the admin API's `PUT` writes, with `"via": "import"`), written
 * in one statement per chunk, so the log can be searched per user at no measurable cost (docs/performance.md).
 *
 * With `stop`, the first bad row or conflict ends the import: the rows before it are written, none after. With
 * `skip` and `update`, bad rows are reported and left out. A name created by someone else between the lookup and
 * the insert loses nothing: the unique index refuses the chunk, the chunk is looked up again and retried without it.
 */
import { isUniqueViolation } from "../db/database.js";
import type { Tables } from "../db/stores.js";
import type { User } from "../db/users.js";
import { ErrCode, MatrixError } from "../errors.js";
import { deviceListChanged } from "../keys/device-lists.js";
import { CSV_BOOLEAN, parseBoolean } from "../shared/truth.js";
import { hashNewPassword, writePassword } from "./account.js";
import { canonicaliseEmail, checkAdminPassword } from "./admin-user-commands.js";
import { addThreepids } from "./admin-user-put.js";
import { PASSWORD_CHANGED, PASSWORD_HIDDEN, PASSWORD_SET, recordAudits, type AdminActor } from "./audit.js";
import type { AccountsContext } from "./context.js";
import { ProfileField, checkProfileValue } from "./profile.js";
import { prepareAccount, userInUse, writeAccounts, type PreparedAccount } from "./registration.js";
import { localpartOf, userIdFor } from "./user-id.js";
import { checkLocalpartSyntax } from "./username.js";
import type { ImportBatchResult, ImportOptions, ImportRow, ImportRowResult } from "./import-rows.js";

export {
  MAX_IMPORT_ROWS,
  ON_CONFLICT,
  type ImportBatchResult,
  type ImportOptions,
  type ImportOutcome,
  type ImportRow,
  type ImportRowResult,
  type OnConflict,
} from "./import-rows.js";

/** Accounts per transaction: large enough that per-statement costs vanish, small enough for any parameter limit. */
export const IMPORT_CHUNK = 1000;

const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;
const ARGON2ID = /^\$argon2id\$v=19\$m=\d{1,10},t=\d{1,10},p=\d{1,3}\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}$/;

/** A hash `PasswordHasher.verify` can check: bcrypt `$2a$`/`$2b$`/`$2y$` (Synapse's) or an argon2id PHC string. */
export function checkImportedHash(hash: string): void {
  if (!BCRYPT.test(hash) && !ARGON2ID.test(hash)) {
    throw new MatrixError(
      ErrCode.InvalidParam,
      "password_hash is not a bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$v=19$...) hash",
    );
  }
}

function parseAdmin(value: boolean | string | null | undefined): boolean | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  if (typeof value === "boolean") return value;
  const admin = parseBoolean(value, CSV_BOOLEAN);
  if (admin !== null) return admin;
  throw new MatrixError(ErrCode.InvalidParam, `admin must be true/false, 1/0 or yes/no, not ${JSON.stringify(value)}`);
}

const given = (v: string | null | undefined): v is string => v !== null && v !== undefined && v !== "";

/** A row whose fields are valid on their own; whether it creates or changes an account is decided per chunk. */
interface CheckedRow {
  index: number;
  line: number;
  userId: string;
  localpart: string;
  password: string | null;
  hash: string | null;
  /** undefined: not given (kept on update, the localpart on creation). */
  displayname?: string | null;
  admin?: boolean;
  email?: string;
}

type Planned =
  | { kind: "create"; row: CheckedRow; account: PreparedAccount }
  | { kind: "update"; row: CheckedRow; current: User; emails: string[]; hash: string | null }
  | { kind: "skip"; row: CheckedRow; userId: string }
  | { kind: "error"; index: number; line: number; userId: string | null; err: MatrixError };

/** What the whole file has used so far, so the later of two rows naming the same account or address is refused. */
interface Seen {
  users: Map<string, number>;
  emails: Map<string, number>;
}

/** `found.userId` is set as soon as the username is read, so a later refusal can still name the account. */
function checkRow(
  ctx: AccountsContext,
  row: ImportRow,
  index: number,
  seen: Seen,
  found: { userId: string | null },
): CheckedRow {
  if (typeof row.username !== "string" || row.username === "") {
    throw new MatrixError(ErrCode.MissingParam, "username is required");
  }
  let localpart = row.username;
  if (row.username.startsWith("@")) {
    const lp = localpartOf(row.username, ctx.serverName);
    if (lp === null) {
      throw new MatrixError(
        ErrCode.InvalidUsername,
        `${row.username} is not a user ID of this server (${ctx.serverName})`,
      );
    }
    localpart = lp;
  }
  const userId = userIdFor(localpart, ctx.serverName);
  found.userId = userId;
  checkLocalpartSyntax(localpart, ctx.usernameRules);
  const key = userId.toLowerCase();
  const earlier = seen.users.get(key);
  if (earlier !== undefined) throw new MatrixError(ErrCode.InvalidParam, `${userId} is already on line ${earlier}`);
  seen.users.set(key, row.line);

  if (given(row.password) && given(row.password_hash)) {
    throw new MatrixError(ErrCode.InvalidParam, "give password or password_hash, not both");
  }
  const password = given(row.password) ? row.password : null;
  if (password !== null) checkAdminPassword(password);
  const hash = given(row.password_hash) ? row.password_hash : null;
  if (hash !== null) checkImportedHash(hash);
  const checked: CheckedRow = { index, line: row.line, userId, localpart, password, hash };
  if (given(row.displayname)) checked.displayname = checkProfileValue(ProfileField.Displayname, row.displayname);
  const admin = parseAdmin(row.admin);
  if (admin !== undefined) checked.admin = admin;
  if (given(row.email)) {
    const email = canonicaliseEmail(row.email);
    const other = seen.emails.get(email);
    if (other !== undefined) throw new MatrixError(ErrCode.InvalidParam, `${email} is already on line ${other}`);
    seen.emails.set(email, row.line);
    checked.email = email;
  }
  return checked;
}

function asMatrixError(err: unknown): MatrixError {
  if (err instanceof MatrixError) return err;
  throw err;
}

/** The fields an update would change: `[field, before, after]`, in the order the admin API's `PUT` applies them. */
function changesOf(current: User, currentEmails: string[], row: CheckedRow, hash: string | null) {
  const changes: [string, unknown, unknown][] = [];
  if (row.displayname !== undefined && row.displayname !== current.displayname) {
    changes.push(["displayname", current.displayname, row.displayname]);
  }
  if (row.email !== undefined && !(currentEmails.length === 1 && currentEmails[0] === row.email)) {
    changes.push(["email", currentEmails, [row.email]]);
  }
  if (row.admin !== undefined && row.admin !== current.admin) changes.push(["admin", current.admin, row.admin]);
  if (hash !== null && hash !== current.passwordHash) changes.push(["password", PASSWORD_HIDDEN, PASSWORD_CHANGED]);
  return changes;
}

async function emailsOf(t: Tables, userId: string): Promise<string[]> {
  return (await t.threepids.listForUser(userId)).filter((p) => p.medium === "email").map((p) => p.address);
}

/** Decides each row of a chunk: create, update, skip or error, with every check done and every hash made. */
async function plan(
  ctx: AccountsContext,
  actor: AdminActor,
  rows: ImportRow[],
  offset: number,
  opts: ImportOptions,
  seen: Seen,
): Promise<Planned[]> {
  const checked: (CheckedRow | Planned)[] = rows.map((row, i) => {
    const found = { userId: null as string | null };
    try {
      return checkRow(ctx, row, offset + i, seen, found);
    } catch (err) {
      const e = asMatrixError(err);
      return { kind: "error", index: offset + i, line: row.line, userId: found.userId, err: e } satisfies Planned;
    }
  });
  const valid = checked.filter((c): c is CheckedRow => !("kind" in c));
  const existing = new Map(
    (await ctx.stores.users.getManyCaseInsensitive(valid.map((r) => r.userId))).map((u) => [u.userId.toLowerCase(), u]),
  );
  const owners = await ctx.stores.threepids.owners(
    "email",
    valid.flatMap((r) => (r.email === undefined ? [] : [r.email])),
  );

  return Promise.all(
    checked.map(async (c): Promise<Planned> => {
      if ("kind" in c) return c;
      const row = c;
      const fail = (err: MatrixError): Planned => ({
        kind: "error",
        index: row.index,
        line: row.line,
        userId: row.userId,
        err,
      });
      try {
        const current = existing.get(row.userId.toLowerCase());
        // A skipped account is left as it is, so nothing else in its row can be wrong.
        if (current && opts.onConflict === "skip") return { kind: "skip", row, userId: current.userId };
        if (current && (opts.onConflict === "stop" || current.userId !== row.userId)) {
          const as = current.userId === row.userId ? "" : ` (as ${current.userId})`;
          throw new MatrixError(ErrCode.UserInUse, `User ID already taken${as}.`);
        }
        if (row.email !== undefined) {
          const owner = owners.get(row.email);
          if (owner !== undefined && owner !== current?.userId) {
            throw new MatrixError(ErrCode.ThreepidInUse, `${row.email} belongs to ${owner}`);
          }
        }
        if (current) {
          if (row.admin === false && current.admin && row.userId === actor.userId) {
            throw new MatrixError(ErrCode.Unknown, "You may not demote yourself.");
          }
          const hash = await updateHash(ctx, current, row, opts.dryRun);
          return { kind: "update", row, current, emails: await emailsOf(ctx.stores, current.userId), hash };
        }
        if (row.password === null && row.hash === null) {
          throw new MatrixError(ErrCode.MissingParam, "a new account needs a password or a password_hash");
        }
        const account = await prepareAccount(
          ctx,
          {
            localpart: row.localpart,
            password: row.password,
            passwordHash: row.hash,
            admin: row.admin ?? false,
            userType: null,
            displayname: row.displayname ?? null,
          },
          { skipInUseCheck: true, checkOnly: opts.dryRun },
        );
        return { kind: "create", row, account };
      } catch (err) {
        return fail(asMatrixError(err));
      }
    }),
  );
}

/** The hash to store on update, or null when the password column is empty or already the account's password. */
async function updateHash(ctx: AccountsContext, current: User, row: CheckedRow, dryRun: boolean) {
  if (row.hash !== null) return row.hash === current.passwordHash ? null : hashNewPassword(ctx, { hash: row.hash });
  if (row.password === null) return null;
  // Re-running an import with `update` must not change (and log out) every account whose password is the same.
  if (await ctx.hasher.verify(row.password, current.passwordHash)) return null;
  if (dryRun) return PASSWORD_CHANGED;
  return hashNewPassword(ctx, row.password);
}

function errorResult(p: Extract<Planned, { kind: "error" }>): ImportRowResult {
  return { line: p.line, user_id: p.userId, outcome: "error", errcode: p.err.errcode, error: p.err.message };
}

/** Writes a chunk's creations and updates with their audit entries in one transaction; returns the outcomes. */
async function write(ctx: AccountsContext, actor: AdminActor, planned: Planned[]): Promise<ImportRowResult[]> {
  const now = ctx.now();
  const creates = planned.filter((p) => p.kind === "create");
  const updates = planned.filter((p) => p.kind === "update");
  const updated = new Set<number>();
  const devicesGone: [string, string[]][] = [];
  await ctx.stores.transaction(async (t) => {
    updated.clear();
    devicesGone.length = 0;
    await writeAccounts(
      t,
      creates.map((c) => c.account),
    );
    await t.threepids.addMany(
      creates.flatMap((c) =>
        c.row.email === undefined
          ? []
          : [{ userId: c.account.userId, medium: "email", address: c.row.email, validatedAt: now, addedAt: now }],
      ),
    );
    const audits = creates.map((c) => {
      const after: Record<string, unknown> = {
        admin: c.account.row.admin,
        user_type: null,
        displayname: c.account.row.displayname,
        password: PASSWORD_SET,
        via: "import",
      };
      if (c.row.email !== undefined) after.threepids = [{ medium: "email", address: c.row.email }];
      return { action: "user.create", target: c.account.userId, before: {}, after };
    });
    for (const u of updates) {
      const userId = u.current.userId;
      const current = await t.users.get(userId);
      if (!current) throw new MatrixError(ErrCode.NotFound, "User not found");
      const emails = await emailsOf(t, userId);
      const changes = changesOf(current, emails, u.row, u.hash);
      if (changes.length === 0) continue;
      const before: Record<string, unknown> = {};
      const after: Record<string, unknown> = { via: "import" };
      for (const [field, from, to] of changes) {
        before[field] = from;
        after[field] = to;
        if (field === "displayname") await t.users.setProfile(userId, { displayname: u.row.displayname! });
        if (field === "admin") await t.users.setAdmin(userId, u.row.admin!);
        if (field === "email") {
          for (const address of emails) await t.threepids.remove(userId, "email", address);
          await addThreepids(t, userId, [{ medium: "email", address: u.row.email! }], now);
        }
        if (field === "password") {
          // As the admin API's PUT does by default: a new password ends the account's sessions.
          devicesGone.push([userId, await writePassword(t, userId, u.hash!, { logoutDevices: true })]);
          after.logout_devices = true;
        }
      }
      audits.push({ action: "user.modify", target: userId, before, after });
      updated.add(u.row.index);
    }
    await recordAudits(t, ctx, actor, audits);
  });
  for (const [userId, gone] of devicesGone) await deviceListChanged(ctx.stores, userId, gone);
  return planned.map((p) => outcomeOf(p, false, updated));
}

function outcomeOf(p: Planned, dryRun: boolean, updated: Set<number> | null): ImportRowResult {
  switch (p.kind) {
    case "error":
      return errorResult(p);
    case "skip":
      return { line: p.row.line, user_id: p.userId, outcome: dryRun ? "would_skip" : "skipped" };
    case "create":
      return { line: p.row.line, user_id: p.account.userId, outcome: dryRun ? "would_create" : "created" };
    case "update": {
      const changed = updated ? updated.has(p.row.index) : changesOf(p.current, p.emails, p.row, p.hash).length > 0;
      const outcome = changed ? (dryRun ? "would_update" : "updated") : dryRun ? "would_skip" : "skipped";
      return { line: p.row.line, user_id: p.current.userId, outcome };
    }
  }
}

/** With `stop`, the rows up to and including the first error; otherwise all of them. */
function cut(planned: Planned[], opts: ImportOptions): { rows: Planned[]; stopped: boolean } {
  if (opts.onConflict !== "stop") return { rows: planned, stopped: false };
  const first = planned.findIndex((p) => p.kind === "error");
  return first < 0 ? { rows: planned, stopped: false } : { rows: planned.slice(0, first + 1), stopped: true };
}

/**
 * After a lost race (the unique index refused the chunk), the rows whose name or address someone else took
 * meanwhile become conflicts, decided by `onConflict` as if they had been there at the lookup.
 */
async function replanLostRaces(ctx: AccountsContext, planned: Planned[], opts: ImportOptions): Promise<number> {
  const creates = planned.filter((p) => p.kind === "create");
  const taken = new Map(
    (await ctx.stores.users.getManyCaseInsensitive(creates.map((c) => c.account.userId))).map((u) => [
      u.userId.toLowerCase(),
      u.userId,
    ]),
  );
  const emails = planned.flatMap((p) =>
    (p.kind === "create" || p.kind === "update") && p.row.email !== undefined ? [p.row.email] : [],
  );
  const owners = await ctx.stores.threepids.owners("email", emails);
  let changed = 0;
  for (let i = 0; i < planned.length; i++) {
    const p = planned[i]!;
    if (p.kind !== "create" && p.kind !== "update") continue;
    const userId = p.kind === "create" ? p.account.userId : p.current.userId;
    const err = (e: MatrixError): Planned => ({ kind: "error", index: p.row.index, line: p.row.line, userId, err: e });
    const owner = p.row.email === undefined ? undefined : owners.get(p.row.email);
    if (p.kind === "create" && taken.has(userId.toLowerCase())) {
      planned[i] =
        opts.onConflict === "skip"
          ? { kind: "skip", row: p.row, userId: taken.get(userId.toLowerCase())! }
          : err(userInUse());
      changed++;
    } else if (owner !== undefined && owner !== userId) {
      planned[i] = err(new MatrixError(ErrCode.ThreepidInUse, `${p.row.email} belongs to ${owner}`));
      changed++;
    }
  }
  return changed;
}

export async function importUsers(
  ctx: AccountsContext,
  actor: AdminActor,
  rows: ImportRow[],
  opts: ImportOptions,
): Promise<ImportBatchResult> {
  const seen: Seen = { users: new Map(), emails: new Map() };
  const results: ImportRowResult[] = [];
  for (let offset = 0; offset < rows.length; offset += IMPORT_CHUNK) {
    let { rows: planned, stopped } = cut(
      await plan(ctx, actor, rows.slice(offset, offset + IMPORT_CHUNK), offset, opts, seen),
      opts,
    );
    if (opts.dryRun) {
      results.push(...planned.map((p) => outcomeOf(p, true, null)));
    } else {
      for (;;) {
        try {
          results.push(...(await write(ctx, actor, planned)));
          break;
        } catch (err) {
          const race = isUniqueViolation(err) || (err instanceof MatrixError && err.errcode === ErrCode.ThreepidInUse);
          if (!race || (await replanLostRaces(ctx, planned, opts)) === 0) throw err;
          ({ rows: planned, stopped } = cut(planned, opts));
        }
      }
    }
    if (stopped) return { results, stopped: true };
  }
  return { results, stopped: false };
}
