/**
 * @module The admin commands straight on the database: the same service functions the admin API's routes call,
 * with the CLI as the actor (`cli:<login>@<host>`, IP `local`), so the rules, the answers and the audit entries
 * are the API's. A `MatrixError` from a service becomes the `AdminFailure` the HTTP mode would have reported.
 */
import { hostname, userInfo } from "node:os";
import { listUserDevices } from "../../accounts/admin-devices.js";
import { loginAsUser } from "../../accounts/admin-login-as.js";
import { parseResetPassword, parseUserPut } from "../../accounts/admin-user-commands.js";
import { createNewUser, putUser } from "../../accounts/admin-user-put.js";
import { adminDeactivate, resetPassword, setAdminFlag } from "../../accounts/admin-user-writes.js";
import { getUser, listUsers } from "../../accounts/admin-users-query.js";
import { listAudit, type AdminActor } from "../../accounts/audit.js";
import {
  createRegistrationToken,
  parseCreateRegistrationToken,
  parseUpdateRegistrationToken,
  deleteRegistrationToken,
  getRegistrationToken,
  listRegistrationTokens,
  updateRegistrationToken,
} from "../../accounts/registration-tokens.js";
import { userByExternalId } from "../../accounts/threepid-lookups.js";
import { whoisUser } from "../../accounts/whois.js";
import { MAX_AUDIT_PAGE } from "../../api/admin/audit.js";
import { userListQuery } from "../../api/admin/users.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { sendServerNotice } from "../../rooms/server-notices.js";
import type { AdminBackend, AuditParams } from "./backend.js";
import { warn, type DatabaseConnection } from "./connection.js";
import { databaseRoomMethods } from "./database-room-backend.js";
import { databaseMediaMethods } from "./media-backend.js";
import { CliError, EXIT_USAGE } from "../errors.js";
import { AdminFailure } from "./exit-codes.js";
import { cliIo } from "../io.js";

/** The IP the audit log records for a change made on this machine, with no request behind it. */
export const CLI_IP = "local";

/** `cli:<login name>@<host>`: who ran the command, as far as this machine can say. */
export function cliActor(): AdminActor {
  let login: string;
  try {
    login = userInfo().username || "unknown";
  } catch {
    login = cliIo().env.USER ?? "unknown";
  }
  return { userId: `cli:${login}@${hostname()}`, deviceId: null, tokenHash: "", ip: CLI_IP };
}

async function asFailure<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MatrixError) throw new AdminFailure(err.errcode, err.message, err.status);
    throw err;
  }
}

function nonNegative(name: string, value: number | undefined): number | null {
  if (value === undefined) return null;
  if (value < 0)
    throw new MatrixError(ErrCode.InvalidParam, `Query parameter '${name}' must be a non-negative integer`);
  return value;
}

export function databaseBackend(connection: DatabaseConnection): AdminBackend {
  const { ctx, actor, describe } = connection;
  const run = asFailure;
  return {
    ...databaseRoomMethods(connection.rooms, actor, connection.noSigningKey, run),
    ...databaseMediaMethods(connection.media, actor, run),
    describe,
    serverName: () => Promise.resolve(ctx.serverName),
    listUsers: (params) => run(() => listUsers(ctx, userListQuery(params, 2))),
    getUser: (userId) => run(() => getUser(ctx, userId)),
    createUser: (userId, body) => run(() => createNewUser(ctx, actor, userId, () => parseUserPut(body))),
    modifyUser: (userId, body) =>
      run(async () => {
        // putUser creates an unknown ID; a modification must name an account that exists.
        await getUser(ctx, userId);
        return (await putUser(ctx, actor, userId, () => parseUserPut(body))).user;
      }),
    userByExternalId: (authProvider, externalId) => run(() => userByExternalId(ctx, authProvider, externalId)),
    setAdmin: (userId, admin) =>
      run(async () => {
        await setAdminFlag(ctx, actor, userId, { admin });
        return {};
      }),
    deactivate: (userId, erase) => run(() => adminDeactivate(ctx, actor, userId, () => ({ erase }))),
    resetPassword: (userId, password, logoutDevices) =>
      run(async () => {
        // The route's reading of the body, so the CLI meets the same password rule.
        const command = parseResetPassword({ new_password: password, logout_devices: logoutDevices });
        await resetPassword(ctx, actor, userId, command);
        return {};
      }),
    loginAs: (userId, validUntilMs) => run(() => loginAsUser(ctx, actor, userId, { valid_until_ms: validUntilMs })),
    whois: (userId) => run(() => whoisUser(ctx, userId)),
    listDevices: (userId) => run(() => listUserDevices(ctx, userId)),
    listTokens: (valid) => run(() => listRegistrationTokens(ctx, valid)),
    getToken: (token) => run(() => getRegistrationToken(ctx, token)),
    createToken: (body) =>
      run(async () => {
        const { invitation } = connection;
        const mails = "none" in invitation ? null : invitation;
        const created = await createRegistrationToken(ctx, actor, parseCreateRegistrationToken(ctx, body), mails);
        // The running server's outbox job sends what was queued; say when there was nothing to queue it with.
        if (created.bound_email !== undefined && "none" in invitation) {
          warn(`no invitation mailed to ${created.bound_email}: ${invitation.none}`);
        }
        return created;
      }),
    updateToken: (token, body) =>
      run(() => updateRegistrationToken(ctx, actor, token, parseUpdateRegistrationToken(ctx, body))),
    deleteToken: (token) =>
      run(async () => {
        await deleteRegistrationToken(ctx, actor, token);
        return {};
      }),
    listAudit: (params: AuditParams) =>
      run(() => {
        const limit = nonNegative("limit", params.limit) ?? 100;
        const from = params.from === undefined ? null : Number(params.from);
        if (from !== null && (!Number.isSafeInteger(from) || from < 0)) {
          throw new MatrixError(ErrCode.InvalidParam, "Query parameter 'from' must be a non-negative integer");
        }
        return listAudit(ctx, {
          actor: params.actor ?? null,
          target: params.target ?? null,
          action: params.action ?? null,
          fromTs: nonNegative("from_ts", params.from_ts),
          toTs: nonNegative("to_ts", params.to_ts),
          from,
          limit: Math.min(limit, MAX_AUDIT_PAGE),
        });
      }),
    sendServerNotice: (body, txnId) =>
      run(() => {
        if (connection.noSigningKey !== null) throw new CliError(`error: ${connection.noSigningKey}`, EXIT_USAGE);
        return sendServerNotice(connection.rooms, actor, body, txnId);
      }),
    close: () => connection.close(),
  };
}
