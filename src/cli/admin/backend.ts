/**
 * @module One method per admin operation, answering exactly the admin API's JSON: the commands are written once
 * against this, and run over HTTP (`http-backend.ts`) or straight on the database (`database-backend.ts`).
 */
import type { AdminDeviceResponse } from "../../accounts/admin-devices.js";
import type { AdminUserListResponse, AdminUserResponse } from "../../accounts/admin-user-response.js";
import type { AuditListResponse } from "../../accounts/audit.js";
import type { RegistrationTokenListResponse, RegistrationTokenResponse } from "../../accounts/registration-tokens.js";
import type { WhoisResponse } from "../../accounts/whois.js";
import type { MediaAdminBackend } from "./media-backend.js";
import type { RoomAdminBackend } from "./room-backend.js";

/** Query parameters exactly as `GET /_synapse/admin/v2/users` reads them. */
export type UserListParams = Record<string, string>;

/** Query parameters exactly as `GET /_gatehouse/admin/v1/audit` reads them. */
export interface AuditParams {
  actor?: string;
  target?: string;
  action?: string;
  from_ts?: number;
  to_ts?: number;
  limit?: number;
  from?: string;
}

export interface AdminBackend extends RoomAdminBackend, MediaAdminBackend {
  /** Where the commands act, for messages: the server's URL or the database's description. */
  readonly describe: string;
  /** The server name that completes a bare localpart. */
  serverName(): Promise<string>;
  listUsers(params: UserListParams): Promise<AdminUserListResponse>;
  getUser(userId: string): Promise<AdminUserResponse>;
  /** Creates the account; an existing one is refused (`M_USER_IN_USE`), never modified. */
  createUser(userId: string, body: Record<string, unknown>): Promise<AdminUserResponse>;
  /** `PUT /v2/users` on an account that must exist. */
  modifyUser(userId: string, body: Record<string, unknown>): Promise<AdminUserResponse>;
  /** `GET /v1/auth_providers/{provider}/users/{externalId}`: who holds an external ID (404 when nobody does). */
  userByExternalId(authProvider: string, externalId: string): Promise<{ user_id: string }>;
  setAdmin(userId: string, admin: boolean): Promise<Record<string, never>>;
  deactivate(userId: string, erase: boolean): Promise<{ id_server_unbind_result: string }>;
  resetPassword(userId: string, password: string, logoutDevices: boolean): Promise<Record<string, never>>;
  loginAs(userId: string, validUntilMs: number | null): Promise<{ access_token: string }>;
  whois(userId: string): Promise<WhoisResponse>;
  listDevices(userId: string): Promise<{ devices: AdminDeviceResponse[]; total: number }>;
  listTokens(valid: boolean | null): Promise<RegistrationTokenListResponse>;
  getToken(token: string): Promise<RegistrationTokenResponse>;
  createToken(body: Record<string, unknown>): Promise<RegistrationTokenResponse>;
  updateToken(token: string, body: Record<string, unknown>): Promise<RegistrationTokenResponse>;
  deleteToken(token: string): Promise<Record<string, never>>;
  listAudit(params: AuditParams): Promise<AuditListResponse>;
  /** `POST /v1/send_server_notice`, or `PUT …/{txnId}` with a transaction ID. */
  sendServerNotice(body: Record<string, unknown>, txnId?: string): Promise<{ event_id: string }>;
  close(): Promise<void>;
}
