/**
 * @module `POST /register` of the client API, in the order Synapse's `RegisterRestServlet.on_POST` works.
 *
 * The password is never stored in a UIA session: the first request that carries it has it hashed into the
 * session's server-side data. A registration-token use is reserved when the token stage passes and completed in
 * the same transaction that creates the account.
 */
import { isUniqueViolation } from "../db/database.js";
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError } from "../errors.js";
import type { ServerContext } from "./context.js";
import { MAX_PASSWORD_LENGTH, checkPasswordPolicy } from "./password-policy.js";
import { registerUser, type RegisteredUser } from "./registration.js";
import { startSession, tokenLifetimes } from "./sessions.js";
import { ALTCHA_CHALLENGE_PATH, ALTCHA_STAGE, verifyAltchaSolution } from "./altcha.js";
import { RECAPTCHA_STAGE, verifyRecaptcha } from "./recaptcha.js";
import { AuthType, checkUiAuth, UiaIncompleteError, type StageChecker } from "./uia.js";
import { userIdFor } from "./user-id.js";
import { checkUsername } from "./username.js";
import { threepidAllowed } from "./threepid-validation.js";
import { EMAIL_IDENTITY, emailStageChecker, provenThreepid } from "./uia-email.js";
import { consentSettings, termsParams } from "./consent.js";

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3register */
export interface RegisterResponse {
  user_id: string;
  home_server: string;
  access_token?: string;
  device_id?: string;
  expires_in_ms?: number;
  refresh_token?: string;
}

export interface ClientRegisterRequest {
  kind: unknown;
  body: Record<string, unknown>;
  uri: string;
  method: string;
  ip: string;
  hasAccessToken: boolean;
}

/**
 * Synapse's `_calculate_registration_flows` for a server without phone or terms: with
 * `registrations_require_3pid: [email]` only the e-mail flow; with e-mail configured, an e-mail flow beside the
 * dummy one (so a client that validated an address binds it). Each CAPTCHA turned on goes in front of every flow, in
 * flows of its own (either CAPTCHA will do); a registration token before each when required. With the self-hosted
 * CAPTCHA, `altcha.token_flow` adds a flow with a registration token and no CAPTCHA, for clients (Cinny) that drop
 * every flow holding a stage they do not know. `user_consent.require_at_registration` puts `m.login.terms` in
 * every flow, after the token and CAPTCHA as in Synapse.
 */
export function registrationFlows(config: ServerContext["config"]): string[][] {
  const requireEmail = config.registrations_require_3pid.includes("email");
  const terms = config.user_consent?.require_at_registration ? [AuthType.Terms] : [];
  const base: string[][] = requireEmail ? [] : [[...terms, AuthType.Dummy]];
  if (config.email !== null) base.push([...terms, EMAIL_IDENTITY]);
  const captchas = [
    ...(config.altcha.enabled ? [ALTCHA_STAGE] : []),
    ...(config.recaptcha.enabled ? [RECAPTCHA_STAGE] : []),
  ];
  let flows = captchas.length > 0 ? captchas.flatMap((c) => base.map((f) => [c, ...f])) : base;
  if (config.registration_requires_token) flows = flows.map((f) => [AuthType.RegistrationToken, ...f]);
  if (config.altcha.enabled && config.altcha.token_flow) {
    flows.push([AuthType.RegistrationToken, ...terms, requireEmail ? EMAIL_IDENTITY : AuthType.Dummy]);
  }
  return flows;
}

/** The 401's `params`: what a client needs to show each CAPTCHA, and the terms to accept. */
function registrationParams(config: ServerContext["config"], sessionId: string): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  const consent = consentSettings(config);
  if (consent?.config.require_at_registration) params[AuthType.Terms] = termsParams(consent);
  if (config.altcha.enabled) {
    params[ALTCHA_STAGE] = { challenge_url: `${ALTCHA_CHALLENGE_PATH}?session=${encodeURIComponent(sessionId)}` };
  }
  if (config.recaptcha.enabled) params[RECAPTCHA_STAGE] = { public_key: config.recaptcha.public_key };
  return params;
}

/**
 * An invite bound to an address, on a server that can validate addresses, must be used with the e-mail stage: the
 * dummy stage refuses, so the client hears which flow is meant before it finishes the wrong one.
 */
function dummyChecker(sc: ServerContext): StageChecker {
  return (_auth, session) => {
    if (sc.config.email !== null && typeof session.serverdict.registration_token_email === "string") {
      return Promise.reject(new MatrixError(ErrCode.Forbidden, INVITE_NEEDS_EMAIL));
    }
    return Promise.resolve(true);
  };
}

const INVITE_NEEDS_EMAIL =
  "This registration token is for one e-mail address: confirm it with the m.login.email.identity stage";

function registrationTokenChecker(sc: ServerContext): StageChecker {
  const { accounts } = sc;
  return async (auth, session) => {
    if (!("token" in auth)) throw new MatrixError(ErrCode.MissingParam, "Missing registration token");
    if (typeof auth.token !== "string")
      throw new MatrixError(ErrCode.InvalidParam, "Registration token must be a string");
    const stored = session.serverdict.registration_token;
    if (typeof stored === "string") {
      if (stored !== auth.token) throw new MatrixError(ErrCode.InvalidParam, "Registration token has changed");
      return true;
    }
    const found = await accounts.stores.registrationTokens.get(auth.token);
    const wanted = typeof session.clientdict.username === "string" ? session.clientdict.username.toLowerCase() : null;
    // Refused before a use is reserved, so a wrong name does not hold the invite for 48 hours.
    if (found?.boundUsername && wanted !== null && wanted !== found.boundUsername)
      throw wrongUsername(found.boundUsername);
    if (!found || !(await accounts.stores.registrationTokens.reserve(auth.token, accounts.now()))) {
      throw new MatrixError(ErrCode.Unauthorized, "Invalid registration token");
    }
    await accounts.stores.uiAuthSessions.setServerValue(session.sessionId, "registration_token", auth.token);
    session.serverdict.registration_token = auth.token;
    // The binding is kept with the reservation: the final stage applies it even if the token is deleted meanwhile.
    for (const [key, value] of [
      ["registration_token_username", found.boundUsername],
      ["registration_token_email", found.boundEmail],
    ] as const) {
      if (value === null) continue;
      await accounts.stores.uiAuthSessions.setServerValue(session.sessionId, key, value);
      session.serverdict[key] = value;
    }
    return auth.token;
  };
}

function wrongUsername(bound: string): MatrixError {
  return new MatrixError(ErrCode.Forbidden, `This registration token is for the username '${bound}' only`);
}

function responseFor(sc: ServerContext, result: RegisteredUser, now: number): RegisterResponse {
  const body: RegisterResponse = { user_id: result.userId, home_server: sc.config.server_name };
  const s = result.session;
  if (s) {
    body.access_token = s.accessToken;
    body.device_id = s.deviceId;
    if (s.validUntilMs !== null) body.expires_in_ms = s.validUntilMs - now;
    if (s.refreshToken !== null) body.refresh_token = s.refreshToken;
  }
  return body;
}

function loginParams(sc: ServerContext, params: Record<string, unknown>, now: number) {
  if (params.inhibit_login === true) return null;
  const lifetimes = tokenLifetimes(sc.config, params.refresh_token === true, now);
  return {
    deviceId: typeof params.device_id === "string" ? params.device_id : null,
    initialDeviceDisplayName:
      typeof params.initial_device_display_name === "string" ? params.initial_device_display_name : null,
    validUntilMs: lifetimes.validUntilMs,
    refresh: lifetimes.refresh,
  };
}

async function registerGuest(sc: ServerContext, req: ClientRegisterRequest): Promise<RegisterResponse> {
  if (!sc.config.allow_guest_access) {
    throw new MatrixError(ErrCode.Unknown, "Guest access is disabled", { status: 403 });
  }
  const { accounts } = sc;
  const now = accounts.now();
  const displayName =
    typeof req.body.initial_device_display_name === "string" ? req.body.initial_device_display_name : null;
  for (let attempt = 0; attempt < 11; attempt++) {
    const localpart = String(await accounts.stores.counters.next("user_id_seq"));
    if ((await accounts.stores.users.getCaseInsensitive(userIdFor(localpart, accounts.serverName))).length > 0)
      continue;
    const result = await registerUser(accounts, {
      localpart,
      password: null,
      admin: false,
      userType: null,
      displayname: localpart,
      isGuest: true,
      generatedLocalpart: true,
      login: { deviceId: "guest_device", initialDeviceDisplayName: displayName, validUntilMs: null, refresh: null },
    });
    return responseFor(sc, result, now);
  }
  throw new MatrixError(ErrCode.Unknown, "Unable to find a suitable guest user ID", { status: 500 });
}

function stringValue(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

/**
 * The address the e-mail stage proved, or (on a server without e-mail) the one an invite was bound to: that invite
 * was a secret sent to the address, so completing a sign-up with it shows control of the address as much as a
 * validation link would. Either way the account gets the address as a validated e-mail.
 */
async function attachInvitedEmail(
  tables: Tables,
  userId: string,
  address: string,
  now: number,
  validatedAt: number,
): Promise<void> {
  try {
    await tables.threepids.add(userId, { medium: "email", address, validatedAt, addedAt: now });
  } catch (err) {
    if (isUniqueViolation(err)) throw new MatrixError(ErrCode.ThreepidInUse, "email is already in use");
    throw err;
  }
}

export async function registerClient(sc: ServerContext, req: ClientRegisterRequest): Promise<RegisterResponse> {
  const { accounts, config, limiter } = sc;
  const body = req.body;
  // Every request counts, each stage of the exchange included, and before anything costs more than this check.
  await limiter.check("rc_registration", req.ip, config.rc_registration);

  const kind = req.kind ?? "user";
  if (kind === "guest") return registerGuest(sc, req);
  if (kind !== "user")
    throw new MatrixError(
      ErrCode.Unrecognized,
      `Do not understand membership kind: ${typeof kind === "string" ? kind : JSON.stringify(kind)}`,
      { status: 400 },
    );

  if ("refresh_token" in body && typeof body.refresh_token !== "boolean") {
    throw new MatrixError(ErrCode.Unknown, "`refresh_token` should be true or false.");
  }
  if ("username" in body && body.username !== null) {
    if (typeof body.username !== "string" || [...body.username].length > 512) {
      throw new MatrixError(ErrCode.Unknown, "Invalid username");
    }
  }
  if (body.type === "m.login.application_service") {
    if (!req.hasAccessToken) {
      throw new MatrixError(
        ErrCode.Unknown,
        "Appservice token must be provided when using a type of m.login.application_service",
      );
    }
    // No application services are registered on this server, so no token can be one.
    throw new MatrixError(ErrCode.UnknownToken, "Unrecognised access token", { extra: { soft_logout: false } });
  }
  if (req.hasAccessToken) {
    throw new MatrixError(
      ErrCode.Unknown,
      "An access token should not be provided on requests to /register (except if type is m.login.application_service)",
    );
  }
  requireRegistrationOpen(config);

  const desiredUsername = typeof body.username === "string" ? body.username.toLowerCase() : null;

  let password: string | null = null;
  if ("password" in body) {
    const p = body.password;
    delete body.password;
    if (typeof p !== "string" || [...p].length > MAX_PASSWORD_LENGTH) {
      throw new MatrixError(ErrCode.Unknown, "Invalid password");
    }
    checkPasswordPolicy(p, accounts.passwordPolicy);
    password = p;
  } else if ("initial_device_display_name" in body) {
    // Synapse's work-around for clients that resend it on every stage: only the request with the password counts.
    delete body.initial_device_display_name;
  }

  const auth = body.auth as Record<string, unknown> | undefined;
  const sessionId = auth && typeof auth === "object" && typeof auth.session === "string" ? auth.session : null;
  let registeredUserId: string | null = null;
  if (sessionId) {
    const s = await accounts.stores.uiAuthSessions.get(sessionId);
    const r = s?.serverdict.registered_user_id;
    if (typeof r === "string") registeredUserId = r;
  }

  if (desiredUsername !== null) {
    if (registeredUserId !== null) {
      if (registeredUserId !== userIdFor(desiredUsername, accounts.serverName)) {
        throw new MatrixError(ErrCode.Unknown, "A different user ID has already been registered for this session");
      }
    } else {
      await checkUsername(desiredUsername, accounts.usernameRules, accounts.stores.users, {
        skipInUseCheck: config.inhibit_user_in_use_error,
      });
    }
  }

  let result;
  try {
    result = await checkUiAuth(accounts, {
      uri: req.uri,
      method: req.method,
      body,
      flows: registrationFlows(config),
      description: "register a new account",
      params: (sessionId) => registrationParams(config, sessionId),
      newSessionLimit: {
        clientIp: req.ip,
        perIp: config.registration_sessions.per_ip,
        total: config.registration_sessions.total,
      },
      checkers: {
        [AuthType.Dummy]: dummyChecker(sc),
        [AuthType.RegistrationToken]: registrationTokenChecker(sc),
        // Synapse's `TermsAuthChecker`: submitting the stage is the acceptance.
        ...(config.user_consent?.require_at_registration ? { [AuthType.Terms]: () => Promise.resolve(true) } : {}),
        [ALTCHA_STAGE]: (auth, session) =>
          verifyAltchaSolution(accounts, config.altcha, auth.payload, session.sessionId),
        [RECAPTCHA_STAGE]: (auth) => verifyRecaptcha(config.recaptcha, auth.response, req.ip),
        ...(config.email !== null ? { [EMAIL_IDENTITY]: emailStageChecker(sc, "register") } : {}),
      },
    });
  } catch (err) {
    // Where Synapse hashes: the first time the password arrives, into the session, so later stages need not resend
    // it. By now the request has passed the rate limit, the username checks and the session bound; the hashing
    // queue is bounded too.
    const sid = err instanceof UiaIncompleteError ? err.body.session : null;
    if (password !== null && sid) {
      const s = await accounts.stores.uiAuthSessions.get(sid);
      if (s && typeof s.serverdict.password_hash !== "string") {
        const hash = await accounts.hasher.hash(password, { bounded: true });
        await accounts.stores.uiAuthSessions.setServerValue(sid, "password_hash", hash);
      }
    }
    throw err;
  }

  const { session, params } = result;
  const now = accounts.now();
  const already = session.serverdict.registered_user_id;
  if (typeof already === "string") {
    // A retried final request: the account exists; hand out a new session for it rather than a second account.
    const existing = await accounts.stores.users.get(already);
    if (!existing) throw new MatrixError(ErrCode.Unknown, "The account registered in this session no longer exists");
    const login = loginParams(sc, session.clientdict, now);
    const localpart = already.slice(1, already.lastIndexOf(":"));
    const s = login
      ? await accounts.stores.transaction((t) => startSession(t, { userId: already, localpart, ...login, now }))
      : null;
    return responseFor(sc, { userId: already, session: s }, now);
  }

  const storedHash = typeof session.serverdict.password_hash === "string" ? session.serverdict.password_hash : null;
  if (password === null && storedHash === null) throw new MatrixError(ErrCode.MissingParam, "Missing params: password");

  const usernameParam = typeof params.username === "string" ? params.username.toLowerCase() : desiredUsername;
  const boundUsername = stringValue(session.serverdict.registration_token_username);
  const boundEmail = stringValue(session.serverdict.registration_token_email);
  const proven = provenThreepid(result.completed);
  if (proven !== null) {
    // Synapse's checks once the flow is complete: the address may have been taken since it was validated.
    if (!threepidAllowed(config, "email", proven.address)) {
      throw new MatrixError(ErrCode.ThreepidDenied, "Third party identifiers are not allowed on this server");
    }
    if ((await accounts.stores.threepids.owners("email", [proven.address])).has(proven.address)) {
      throw new MatrixError(ErrCode.ThreepidInUse, `${proven.address} is already in use`);
    }
  }
  if (boundEmail !== null && config.email !== null) {
    if (proven === null) throw new MatrixError(ErrCode.Forbidden, INVITE_NEEDS_EMAIL);
    if (proven.address !== boundEmail) {
      throw new MatrixError(ErrCode.ThreepidDenied, "This registration token is for another e-mail address");
    }
  }
  if (boundUsername !== null && usernameParam !== null && usernameParam !== boundUsername) {
    throw wrongUsername(boundUsername);
  }
  // An invite for one name needs no username from the client: the bound one is used rather than a numeric one.
  let localpart = usernameParam ?? boundUsername;
  if (boundUsername !== null && usernameParam === null) {
    await checkUsername(boundUsername, accounts.usernameRules, accounts.stores.users);
  }
  let generated = false;
  if (localpart === null) {
    // No username: Synapse generates a numeric one.
    generated = true;
    do {
      localpart = String(await accounts.stores.counters.next("user_id_seq"));
    } while ((await accounts.stores.users.getCaseInsensitive(userIdFor(localpart, accounts.serverName))).length > 0);
  }

  const token =
    typeof session.serverdict.registration_token === "string" ? session.serverdict.registration_token : null;
  // The version the 401 showed is the current one: a flow that held the stage records it with the account.
  const acceptedTerms = result.completed.has(AuthType.Terms) ? (config.user_consent?.version ?? null) : null;
  const registered = await registerUser(accounts, {
    localpart: localpart,
    password: storedHash === null ? password : null,
    passwordHash: storedHash,
    boundedHash: true,
    admin: false,
    userType: null,
    displayname: null,
    generatedLocalpart: generated,
    login: loginParams(sc, params, now),
    alsoInTransaction: async (tables, userId) => {
      if (token !== null) await tables.registrationTokens.complete(token);
      if (proven !== null) {
        await attachInvitedEmail(tables, userId, proven.address, now, proven.validatedAt);
        await tables.threepidValidation.delete(proven.sessionId);
      } else if (boundEmail !== null) await attachInvitedEmail(tables, userId, boundEmail, now, now);
      if (acceptedTerms !== null) await tables.users.setConsentVersion(userId, acceptedTerms, now);
      await tables.uiAuthSessions.setServerValue(session.sessionId, "registered_user_id", userId);
      if (token !== null)
        await tables.uiAuthSessions.setServerValue(session.sessionId, "registration_token_completed", true);
    },
  });
  return responseFor(sc, registered, now);
}

/** Typing a username in a sign-up form asks once per keystroke; this allows that and stops enumeration. */
const AVAILABILITY_LIMIT = { per_second: 1, burst_count: 10 };

function requireRegistrationOpen(config: ServerContext["config"]): void {
  if (!config.enable_registration) throw new MatrixError(ErrCode.Forbidden, "Registration has been disabled");
}

/** `GET /register/available?username=`: the command the route parses. */
export interface UsernameAvailableCommand {
  username: string | null;
  ip: string;
}

/**
 * 403 when registration is closed (to stop user enumeration), as in Synapse; the username is checked as given (not
 * lower-cased); taken → 400 `M_USER_IN_USE`. Never `available: false`.
 */
export async function usernameAvailable(
  sc: ServerContext,
  cmd: UsernameAvailableCommand,
): Promise<{ available: true }> {
  const { config, accounts, limiter } = sc;
  requireRegistrationOpen(config);
  await limiter.check("register_available", cmd.ip, AVAILABILITY_LIMIT);
  if (config.inhibit_user_in_use_error) return { available: true };
  if (cmd.username === null) throw new MatrixError(ErrCode.MissingParam, "Missing string query parameter 'username'");
  await checkUsername(cmd.username, accounts.usernameRules, accounts.stores.users);
  return { available: true };
}

/** `GET /register/m.login.registration_token/validity?token=`: the command the route parses. */
export interface TokenValidityCommand {
  token: string | null;
  ip: string;
}

/** Rate-limited by `rc_registration_token_validity` first; does not reserve a use. */
export async function registrationTokenValidity(
  sc: ServerContext,
  cmd: TokenValidityCommand,
): Promise<{ valid: boolean }> {
  const { config, accounts, limiter } = sc;
  await limiter.check("rc_registration_token_validity", cmd.ip, config.rc_registration_token_validity);
  requireRegistrationOpen(config);
  if (cmd.token === null) throw new MatrixError(ErrCode.MissingParam, "Missing string query parameter 'token'");
  return { valid: await accounts.stores.registrationTokens.isValid(cmd.token, accounts.now()) };
}
