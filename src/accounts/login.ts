/**
 * @module Logging in, refreshing and logging out: Synapse's `/login`, `/refresh`, `/logout` rules.
 *
 * An unknown user costs the same hash verification as a known one, so response times do not reveal which
 * accounts exist. A password hash made with an older algorithm or weaker parameters is replaced after a
 * successful login.
 */
import { canonicalEmail } from "../shared/email.js";
import { ErrCode, MatrixError } from "../errors.js";
import { countLogin } from "../metrics/metrics.js";
import { recordDeviceListChange, withDeviceListChange } from "../keys/device-lists.js";
import { inStreamTransaction } from "../sync/stream.js";
import type { AuthProviderSession } from "../db/login-tokens.js";
import type { User } from "../db/users.js";
import type { ServerContext } from "./context.js";
import { checkDeviceParams, startSession, tokenLifetimes, type Session } from "./sessions.js";
import { identityProviders, ssoEnabled, type IdentityProvider } from "./sso-login.js";
import { formatToken, hashToken, hasValidChecksum } from "./tokens.js";
import { localpartOf, userIdFor } from "./user-id.js";
import { accountForExternalUser } from "./external-accounts.js";

export enum LoginType {
  Password = "m.login.password",
  Token = "m.login.token",
  ApplicationService = "m.login.application_service",
}

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3login */
export interface LoginResponse {
  user_id: string;
  access_token: string;
  home_server: string;
  device_id: string;
  expires_in_ms?: number;
  refresh_token?: string;
  well_known?: { "m.homeserver": { base_url: string } };
}

/** https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3login */
export interface LoginFlowsResponse {
  flows: { type: string; get_login_token?: boolean; identity_providers?: IdentityProvider[] }[];
}

export function loginFlows(sc: ServerContext): LoginFlowsResponse {
  const flows: LoginFlowsResponse["flows"] = [];
  // Synapse's order: m.login.sso, then m.login.token (SSO or login via an existing session), then the password type.
  const getLoginToken = sc.config.login_via_existing_session.enabled;
  if (ssoEnabled(sc)) {
    flows.push({ type: "m.login.sso", identity_providers: identityProviders(sc) });
    flows.push({ type: LoginType.Token, ...(getLoginToken ? { get_login_token: true } : {}) });
  } else if (getLoginToken) flows.push({ type: LoginType.Token, get_login_token: true });
  if (passwordLoginEnabled(sc)) flows.push({ type: LoginType.Password });
  flows.push({ type: LoginType.ApplicationService });
  return { flows };
}

/** Synapse's rule: `password_config.enabled`, and a password to check, local or in a directory. */
function passwordLoginEnabled(sc: ServerContext): boolean {
  const { password_config: pc, ldap } = sc.config;
  return pc.enabled && (pc.localdb_enabled || ldap !== null);
}

const INVALID_CREDENTIALS = "Invalid username or password";
const DIRECTORY_UNAVAILABLE = "The login directory (LDAP) is unavailable; try again later";

/** Verifies against a throwaway hash so a missing account takes as long as a wrong password. */
async function burnVerify(sc: ServerContext, password: string): Promise<void> {
  await sc.accounts.hasher.verifyAgainstDummy(password);
}

/** Synapse's `get_users_by_id_case_insensitive` rule: one match (any case) or the exact one among several. */
export async function findUserForLogin(sc: ServerContext, userId: string): Promise<User | null> {
  const candidates = await sc.accounts.stores.users.getCaseInsensitive(userId);
  if (candidates.length === 1) return candidates[0]!;
  return candidates.find((u) => u.userId === userId) ?? null;
}

export interface PasswordLoginContext {
  /** The name as the user typed it, for the directories (`domain\\login`, `@alice:server`); the user ID if absent. */
  typed?: string;
  /** The client's address: the audit entry of an account a directory creates. */
  ip?: string;
  /** Where a directory's refusals and outages are explained (never with the password). */
  log?: (message: string) => void;
}

/**
 * Checks a user's password; used by `/login` and by the `m.login.password` UIA stage. Synapse's order: each password
 * provider (LDAP) first, then the local password when `password_config.localdb_enabled`. A directory that cannot
 * be asked is said so (503), unless the local password succeeds. Every failure counts in `rc_login.failed_attempts`.
 */
export async function validatePasswordLogin(
  sc: ServerContext,
  qualifiedUserId: string,
  password: string,
  context: PasswordLoginContext = {},
): Promise<User> {
  const { accounts, config, limiter } = sc;
  const key = qualifiedUserId.toLowerCase();
  await limiter.check("rc_login.failed_attempts", key, config.rc_login.failed_attempts, { update: false });
  const log = context.log ?? (() => {});
  let unavailable = false;
  for (const provider of accounts.passwordProviders) {
    const verdict = await provider.check(context.typed ?? qualifiedUserId, password);
    if (verdict.kind === "accepted") {
      const user = await accountForExternalUser(
        sc,
        { provider: provider.name, ...verdict },
        {
          createAccounts: provider.createAccounts,
          ip: context.ip ?? "",
          log,
        },
      );
      countLogin(true);
      return user;
    }
    if (verdict.kind === "unavailable") unavailable = true;
  }
  const user = config.password_config.localdb_enabled ? await findUserForLogin(sc, qualifiedUserId) : null;
  const ok = user ? await accounts.hasher.verify(password, user.passwordHash) : (await burnVerify(sc, password), false);
  countLogin(ok && user !== null);
  if (!ok || !user) {
    await limiter.check("rc_login.failed_attempts", key, config.rc_login.failed_attempts);
    if (unavailable) throw new MatrixError(ErrCode.Unknown, DIRECTORY_UNAVAILABLE, { status: 503 });
    throw new MatrixError(ErrCode.Forbidden, INVALID_CREDENTIALS);
  }
  if (user.passwordHash && accounts.hasher.needsRehash(user.passwordHash)) {
    // Best effort and off the response path: a failed re-hash leaves the old, still valid hash in place.
    void accounts.hasher
      .hash(password)
      .then((h) => accounts.stores.users.setPasswordHash(user.userId, h))
      .catch(() => {});
  }
  return user;
}

function identifierFrom(body: Record<string, unknown>): Record<string, unknown> {
  if (body.identifier !== undefined && body.identifier !== null) {
    if (typeof body.identifier !== "object" || Array.isArray(body.identifier)) {
      throw new MatrixError(ErrCode.InvalidParam, "Invalid login submission");
    }
    return body.identifier as Record<string, unknown>;
  }
  if (body.user !== undefined) return { type: "m.id.user", user: body.user };
  if (body.medium !== undefined && body.address !== undefined) {
    return { type: "m.id.thirdparty", medium: body.medium, address: body.address };
  }
  throw new MatrixError(ErrCode.InvalidParam, "Invalid login submission");
}

async function emailOwner(sc: ServerContext, address: string): Promise<string | null> {
  const canonical = canonicalEmail(address);
  if (canonical === null) return null;
  return (await sc.accounts.stores.threepids.owners("email", [canonical])).get(canonical) ?? null;
}

/**
 * An e-mail address and password checked by the directories that find users by address: the account of the entry
 * that accepts them (created on first login, as for a name), null when none does, "unavailable" when one could not
 * be asked.
 */
async function directoryEmailLogin(
  sc: ServerContext,
  address: string,
  password: string,
  limiterKey: string,
  context: PasswordLoginContext,
): Promise<User | "unavailable" | null> {
  const { accounts, config, limiter } = sc;
  let unavailable = false;
  for (const provider of accounts.passwordProviders) {
    if (!provider.checkEmail) continue;
    // Refused before the directory is asked when this address has failed too often.
    await limiter.check("rc_login.failed_attempts", limiterKey, config.rc_login.failed_attempts, { update: false });
    const verdict = await provider.checkEmail(address, password);
    if (verdict.kind === "accepted") {
      const user = await accountForExternalUser(
        sc,
        { provider: provider.name, ...verdict },
        { createAccounts: provider.createAccounts, ip: context.ip ?? "", log: context.log ?? (() => {}) },
      );
      countLogin(true);
      return user;
    }
    if (verdict.kind === "unavailable") unavailable = true;
  }
  return unavailable ? "unavailable" : null;
}

async function passwordLogin(
  sc: ServerContext,
  body: Record<string, unknown>,
  context: PasswordLoginContext,
): Promise<User> {
  if (!passwordLoginEnabled(sc)) throw new MatrixError(ErrCode.Unknown, "Password login has been disabled.");
  if (typeof body.password !== "string") throw new MatrixError(ErrCode.InvalidParam, "Bad parameter: password");
  const identifier = identifierFrom(body);
  if (!("type" in identifier)) throw new MatrixError(ErrCode.MissingParam, "'identifier' dict has no key 'type'");
  if (identifier.type === "m.id.thirdparty" || identifier.type === "m.id.phone") {
    // An e-mail address logs in as the account holding it (canonical, so any case finds it); anything else (phone
    // numbers are never stored) cannot match, and is counted like any failure, as an unknown address is.
    const email = identifier.medium === "email" && typeof identifier.address === "string" ? identifier.address : null;
    const key = JSON.stringify([identifier.medium ?? "msisdn", identifier.address ?? identifier.phone ?? ""]);
    // Synapse's order: the directories first (the module's `check_3pid_auth`), then the account holding the address.
    const directory = email === null ? null : await directoryEmailLogin(sc, email, body.password, key, context);
    if (directory !== null && directory !== "unavailable") return directory;
    const owner = email === null ? null : await emailOwner(sc, email);
    if (owner !== null) return validatePasswordLogin(sc, owner, body.password);
    // As long as a wrong password takes, so the time does not tell which addresses have accounts.
    await burnVerify(sc, body.password);
    await sc.limiter.check("rc_login.failed_attempts", key, sc.config.rc_login.failed_attempts);
    if (directory === "unavailable") throw new MatrixError(ErrCode.Unknown, DIRECTORY_UNAVAILABLE, { status: 503 });
    throw new MatrixError(ErrCode.Forbidden, INVALID_CREDENTIALS);
  }
  if (identifier.type !== "m.id.user") throw new MatrixError(ErrCode.Unknown, "Unknown login identifier type");
  const user = identifier.user;
  if (typeof user !== "string" || user === "") {
    throw new MatrixError(ErrCode.Unknown, "User identifier is missing 'user' key");
  }
  const qualified = user.startsWith("@") ? user : userIdFor(user, sc.config.server_name);
  return validatePasswordLogin(sc, qualified, body.password, { ...context, typed: user });
}

async function tokenLogin(
  sc: ServerContext,
  body: Record<string, unknown>,
): Promise<{ user: User; sso: AuthProviderSession | null }> {
  const token = body.token;
  const consumed =
    typeof token === "string"
      ? await sc.accounts.stores.loginTokens.consume(hashToken(token), sc.accounts.now())
      : null;
  const user = consumed ? await sc.accounts.stores.users.get(consumed.userId) : null;
  if (!user) throw new MatrixError(ErrCode.Forbidden, "Invalid login token");
  return { user, sso: consumed!.sso };
}

function sessionResponse(sc: ServerContext, userId: string, session: Session, now: number): LoginResponse {
  const body: LoginResponse = {
    user_id: userId,
    access_token: session.accessToken,
    home_server: sc.config.server_name,
    device_id: session.deviceId,
  };
  if (session.validUntilMs !== null) body.expires_in_ms = session.validUntilMs - now;
  if (session.refreshToken !== null) body.refresh_token = session.refreshToken;
  if (sc.config.public_baseurl) body.well_known = { "m.homeserver": { base_url: sc.config.public_baseurl } };
  return body;
}

export async function login(
  sc: ServerContext,
  body: Record<string, unknown>,
  ip: string,
  log?: (message: string) => void,
): Promise<LoginResponse> {
  const { accounts, config, limiter } = sc;
  if ("refresh_token" in body && typeof body.refresh_token !== "boolean") {
    throw new MatrixError(ErrCode.Unknown, "`refresh_token` should be true or false.");
  }
  if (!("type" in body)) throw new MatrixError(ErrCode.Unknown, "Missing JSON keys.");
  if (typeof body.type !== "string") throw new MatrixError(ErrCode.InvalidParam, "Bad parameter: type");
  const type: string = body.type;
  if (type === (LoginType.ApplicationService as string)) {
    // No application services are registered on this server.
    throw new MatrixError(ErrCode.Forbidden, "Invalid access_token");
  }
  await limiter.check("rc_login.address", ip, config.rc_login.address);

  let user: User;
  // An SSO login token's provider session goes with the device, for back-channel logout.
  let sso: AuthProviderSession | null = null;
  if (type === (LoginType.Password as string)) user = await passwordLogin(sc, body, { ip, log });
  else if (type === (LoginType.Token as string)) ({ user, sso } = await tokenLogin(sc, body));
  else throw new MatrixError(ErrCode.Unknown, `Unknown login type ${body.type}`);

  await limiter.check("rc_login.account", user.userId.toLowerCase(), config.rc_login.account);
  if (user.deactivated) throw new MatrixError(ErrCode.UserDeactivated, "This account has been deactivated");
  if (user.locked) {
    throw new MatrixError(ErrCode.UserLocked, "User account has been locked", { extra: { soft_logout: true } });
  }
  const deviceId = body.device_id ?? null;
  const displayName = body.initial_device_display_name ?? null;
  checkDeviceParams(deviceId, displayName);

  const now = accounts.now();
  const lifetimes = tokenLifetimes(config, body.refresh_token === true, now);
  const localpart = localpartOf(user.userId, config.server_name) ?? user.userId.slice(1).split(":")[0]!;
  const session = await inStreamTransaction(accounts.stores, async (tables, writer) => {
    const started = await startSession(tables, {
      userId: user.userId,
      localpart,
      deviceId: deviceId as string | null,
      initialDeviceDisplayName: displayName as string | null,
      validUntilMs: lifetimes.validUntilMs,
      refresh: lifetimes.refresh,
      now,
    });
    if (sso) await tables.loginTokens.addDeviceSession(user.userId, started.deviceId, sso);
    await recordDeviceListChange(tables, writer, user.userId, [started.deviceId]);
    return started;
  });
  // Synapse's `extra_attributes`: added to the answer, never over its own fields.
  return { ...sso?.extraAttributes, ...sessionResponse(sc, user.userId, session, now) };
}

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3refresh */
export interface RefreshResponse {
  access_token: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

export async function refresh(sc: ServerContext, body: Record<string, unknown>): Promise<RefreshResponse> {
  const { accounts, config } = sc;
  if (!("refresh_token" in body)) throw new MatrixError(ErrCode.MissingParam, "Missing params: refresh_token");
  const token = body.refresh_token;
  if (typeof token !== "string") throw new MatrixError(ErrCode.InvalidParam, "refresh_token must be a string");
  if (!hasValidChecksum(token, "syr")) throw new MatrixError(ErrCode.UnknownToken, "invalid refresh token");
  const oldHash = hashToken(token);
  const record = await accounts.stores.refreshTokens.getByHash(oldHash);
  if (!record) throw new MatrixError(ErrCode.UnknownToken, "refresh token does not exist");
  const now = accounts.now();
  if (record.nextTokenHash !== null) {
    // Refreshing again is allowed only while the successor is untouched (the client lost our last answer).
    // Synapse's lookup: dead once the successor was refreshed or its access token has been used.
    const successor = await accounts.stores.refreshTokens.getByHash(record.nextTokenHash);
    if (
      !successor ||
      successor.nextTokenHash !== null ||
      (await accounts.stores.accessTokens.usedWithRefreshToken(record.nextTokenHash))
    ) {
      throw new MatrixError(ErrCode.Forbidden, "refresh token isn't valid anymore");
    }
  }
  if (record.expiryTs !== null && record.expiryTs < now) {
    throw new MatrixError(ErrCode.Forbidden, "The supplied refresh token has expired");
  }
  if (record.ultimateSessionExpiryTs !== null && record.ultimateSessionExpiryTs < now) {
    throw new MatrixError(ErrCode.Forbidden, "The session has expired and can no longer be refreshed");
  }
  const user = await accounts.stores.users.get(record.userId);
  if (!user || user.deactivated) throw new MatrixError(ErrCode.UnknownToken, "refresh token does not exist");
  const localpart = localpartOf(user.userId, config.server_name) ?? "";
  const lifetimes = tokenLifetimes(config, true, now);
  const cap = (t: number | null) =>
    record.ultimateSessionExpiryTs === null
      ? t
      : t === null
        ? record.ultimateSessionExpiryTs
        : Math.min(t, record.ultimateSessionExpiryTs);
  const accessToken = formatToken("syt", localpart);
  const newRefresh = formatToken("syr", localpart);
  const validUntilMs = cap(lifetimes.validUntilMs);
  const refreshExpiry = lifetimes.refresh?.expiryTs ?? null;
  await accounts.stores.transaction(async (tables) => {
    if (record.nextTokenHash !== null) {
      await tables.accessTokens.deleteByRefreshHash(record.nextTokenHash);
      await tables.refreshTokens.deleteByHash(record.nextTokenHash);
    }
    // The old access token stays valid until it expires (Synapse's rule): requests already in flight with it
    // must not fail because the client refreshed early. Only the last two refresh tokens are kept (Synapse's `replace_refresh_token`): the predecessor goes.
    await tables.refreshTokens.deleteByNext(oldHash);
    await tables.refreshTokens.insert({
      tokenHash: hashToken(newRefresh),
      userId: record.userId,
      deviceId: record.deviceId,
      nextTokenHash: null,
      // No refresh_token_lifetime: the refresh token itself never expires; the session end still applies.
      expiryTs: refreshExpiry === null ? null : cap(refreshExpiry),
      ultimateSessionExpiryTs: record.ultimateSessionExpiryTs,
      createdTs: now,
    });
    await tables.refreshTokens.setNext(oldHash, hashToken(newRefresh));
    await tables.accessTokens.insert({
      tokenHash: hashToken(accessToken),
      userId: record.userId,
      deviceId: record.deviceId,
      createdTs: now,
      validUntilMs,
      puppetsUserId: null,
      refreshTokenHash: hashToken(newRefresh),
    });
  });
  const response: RefreshResponse = { access_token: accessToken, refresh_token: newRefresh };
  if (validUntilMs !== null) response.expires_in_ms = validUntilMs - now;
  return response;
}

/** `/logout`: the device goes (with its tokens and keys); a token without a device goes alone. */
export async function logout(
  sc: ServerContext,
  userId: string,
  deviceId: string | null,
  tokenHash: string,
): Promise<void> {
  const { stores } = sc.accounts;
  if (deviceId !== null) {
    await withDeviceListChange(stores, userId, async (t) =>
      (await t.devices.delete(userId, deviceId)) ? [deviceId] : [],
    );
  } else {
    await stores.accessTokens.deleteByHash(tokenHash);
  }
}

/** `/logout/all`: every device and every token of the user. */
export async function logoutAll(sc: ServerContext, userId: string): Promise<void> {
  const { stores } = sc.accounts;
  await withDeviceListChange(stores, userId, async (t) => {
    const devices = await t.devices.listForUser(userId);
    for (const d of devices) await t.devices.delete(userId, d.deviceId);
    await t.accessTokens.deleteForUser(userId);
    return devices.map((d) => d.deviceId);
  });
}
