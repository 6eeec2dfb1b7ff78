/**
 * @module The admin commands over HTTP: the Synapse-compatible admin API (and Gatehouse's audit endpoint) of a
 * running server, with an admin's access token. A Matrix error answer becomes an `AdminFailure` carrying its
 * errcode and message; a server that cannot be reached, or that does not answer JSON, exit code 6.
 */
import { ErrCode } from "../../errors.js";
import { InvalidLocationError, requestJson, UnreachableError } from "../http-client.js";
import type { AdminBackend, AuditParams, UserListParams } from "./backend.js";
import { AdminFailure, configError, hasErrcode, unreachable } from "./exit-codes.js";
import { httpRoomMethods, queryString } from "./http-room-backend.js";
import { httpMediaMethods } from "./media-backend.js";

const ADMIN = "/_synapse/admin";
const AUDIT = "/_gatehouse/admin/v1/audit";
const WHOAMI = "/_matrix/client/v3/account/whoami";

const enc = (s: string) => encodeURIComponent(s);

/** One admin API request; a Matrix error becomes an `AdminFailure`, no answer or no JSON exit code 6. */
export async function httpCall<T>(
  baseUrl: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  let res;
  try {
    res = await requestJson(baseUrl, method, path, body, token === null ? {} : { authorization: `Bearer ${token}` });
  } catch (err) {
    if (err instanceof UnreachableError) throw unreachable(`cannot reach ${baseUrl}: ${err.reason}`);
    if (err instanceof InvalidLocationError) throw configError(`--url ${JSON.stringify(baseUrl)} is not a server URL`);
    throw err;
  }
  const answer = res.body;
  if (typeof answer !== "object" || answer === null) {
    throw unreachable(
      `${baseUrl} answered ${res.status} ${res.reason} without JSON: is this the URL of a Gatehouse server?`,
    );
  }
  if (res.status >= 200 && res.status < 300) return answer as T;
  const { errcode, error } = answer as { errcode?: unknown; error?: unknown };
  if (typeof errcode === "string") {
    throw new AdminFailure(errcode, typeof error === "string" ? error : "", res.status);
  }
  throw new AdminFailure(ErrCode.Unknown, `${res.status} ${res.reason}`, res.status);
}

export function httpBackend(baseUrl: string, token: string): AdminBackend {
  let serverName: string | null = null;
  const call = <T>(method: string, path: string, body?: unknown) => httpCall<T>(baseUrl, token, method, path, body);

  async function mustExist(userId: string): Promise<void> {
    await call("GET", `${ADMIN}/v2/users/${enc(userId)}`);
  }

  return {
    ...httpRoomMethods(call),
    ...httpMediaMethods(call),
    describe: baseUrl,
    async serverName() {
      if (serverName === null) {
        const who = await call<{ user_id?: unknown }>("GET", WHOAMI);
        const id = typeof who.user_id === "string" ? who.user_id : "";
        serverName = id.slice(id.indexOf(":") + 1);
      }
      return serverName;
    },
    listUsers: (params: UserListParams) => call("GET", `${ADMIN}/v2/users${queryString(params)}`),
    getUser: (userId) => call("GET", `${ADMIN}/v2/users/${enc(userId)}`),
    async createUser(userId, body) {
      // PUT /v2/users modifies an account that exists; this look comes first so `create` never does. Another
      // admin creating the same ID between the two requests is the race docs/cli.md describes.
      try {
        await mustExist(userId);
      } catch (err) {
        if (hasErrcode(err, ErrCode.NotFound)) {
          return call("PUT", `${ADMIN}/v2/users/${enc(userId)}`, body);
        }
        throw err;
      }
      throw new AdminFailure(ErrCode.UserInUse, "User ID already taken.", 400);
    },
    async modifyUser(userId, body) {
      // PUT on an unknown ID would create it: `user lock bob` must not make an account called bob.
      await mustExist(userId);
      return call("PUT", `${ADMIN}/v2/users/${enc(userId)}`, body);
    },
    userByExternalId: (authProvider, externalId) =>
      call("GET", `${ADMIN}/v1/auth_providers/${enc(authProvider)}/users/${enc(externalId)}`),
    setAdmin: (userId, admin) => call("PUT", `${ADMIN}/v1/users/${enc(userId)}/admin`, { admin }),
    deactivate: (userId, erase) => call("POST", `${ADMIN}/v1/deactivate/${enc(userId)}`, { erase }),
    resetPassword: (userId, password, logoutDevices) =>
      call("POST", `${ADMIN}/v1/reset_password/${enc(userId)}`, {
        new_password: password,
        logout_devices: logoutDevices,
      }),
    loginAs: (userId, validUntilMs) =>
      call("POST", `${ADMIN}/v1/users/${enc(userId)}/login`, { valid_until_ms: validUntilMs }),
    whois: (userId) => call("GET", `${ADMIN}/v1/whois/${enc(userId)}`),
    listDevices: (userId) => call("GET", `${ADMIN}/v2/users/${enc(userId)}/devices`),
    listTokens: (valid) =>
      call(
        "GET",
        `${ADMIN}/v1/registration_tokens${queryString({ valid: valid === null ? undefined : String(valid) })}`,
      ),
    getToken: (token) => call("GET", `${ADMIN}/v1/registration_tokens/${enc(token)}`),
    createToken: (body) => call("POST", `${ADMIN}/v1/registration_tokens/new`, body),
    updateToken: (token, body) => call("PUT", `${ADMIN}/v1/registration_tokens/${enc(token)}`, body),
    deleteToken: (token) => call("DELETE", `${ADMIN}/v1/registration_tokens/${enc(token)}`),
    listAudit: (params: AuditParams) => call("GET", `${AUDIT}${queryString({ ...params })}`),
    sendServerNotice: (body, txnId) =>
      txnId === undefined
        ? call("POST", `${ADMIN}/v1/send_server_notice`, body)
        : call("PUT", `${ADMIN}/v1/send_server_notice/${enc(txnId)}`, body),
    close: () => Promise.resolve(),
  };
}
