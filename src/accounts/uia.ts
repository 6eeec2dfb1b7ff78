/**
 * @module User-Interactive Authentication as Synapse computes it (`AuthHandler.check_ui_auth`).
 *
 * Sessions live in the database for 48 hours, so each stage may reach a different process. A session is tied to
 * the URI and method that opened it. The request body of the first request (minus `auth` and `password`) is the
 * session's `clientdict`; a later request with a non-empty body replaces it.
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { UiAuthSession } from "../db/ui-auth-sessions.js";
import type { AccountsContext } from "./context.js";
import { generateSessionId } from "./tokens.js";

export enum AuthType {
  Dummy = "m.login.dummy",
  Password = "m.login.password",
  RegistrationToken = "m.login.registration_token",
  Terms = "m.login.terms",
  Sso = "m.login.sso",
}

/** https://spec.matrix.org/v1.16/client-server-api/#user-interactive-api-in-the-rest-api */
export interface UiaResponse {
  session: string;
  flows: { stages: string[] }[];
  params: Record<string, unknown>;
  completed: string[];
  errcode?: string;
  error?: string;
}

/** The 401 that asks the client for (more) stages; not a failure, so it is not a `MatrixError`. */
export class UiaIncompleteError extends Error {
  readonly status = 401;
  constructor(readonly body: UiaResponse) {
    super("User-interactive authentication required");
  }
}

/**
 * A refusal that ends the exchange rather than asking again: the stage named an account that is not the requester's,
 * so no answer to it could ever succeed. A 403, not a 401 UIA body (Synapse's `validate_user_via_ui_auth`).
 */
export class UiaRefusedError extends MatrixError {}

/** Where a stage finished out of band (SSO's fallback) finds whom the session is for (Synapse's `request_user_id`). */
export const UIA_REQUEST_USER_ID = "request_user_id";

export const UIA_SESSION_LIFETIME_MS = 48 * 60 * 60 * 1000;

/** A stage checker: returns the value to record on success, or throws a `MatrixError` to report in the 401. */
export type StageChecker = (auth: Record<string, unknown>, session: UiAuthSession) => Promise<unknown>;

export interface UiaRequest {
  uri: string;
  method: string;
  /** The request body; `auth` is removed from it here. */
  body: Record<string, unknown>;
  flows: string[][];
  description: string;
  checkers: Partial<Record<string, StageChecker>>;
  /** The 401's `params` for the stages that need some (a CAPTCHA's public key), given the session's ID. */
  params?: (sessionId: string) => Record<string, unknown>;
  /**
   * For callers nobody has authenticated (registration): a new session is refused with 429 when the address, or
   * everyone together, already holds this many open ones.
   */
  newSessionLimit?: NewSessionLimit;
  /** Server-side data a new session starts with (the requester, for a stage finished out of band). */
  serverdict?: Record<string, unknown>;
}

export interface NewSessionLimit {
  clientIp: string;
  perIp: number;
  total: number;
}

/** Refuses a new session past `limit`, with the time until the oldest session counted expires. */
async function checkNewSessionLimit(ctx: AccountsContext, limit: NewSessionLimit): Promise<void> {
  const since = ctx.now() - UIA_SESSION_LIFETIME_MS;
  for (const [open, max] of [
    [await ctx.stores.uiAuthSessions.countOpen(since, limit.clientIp), limit.perIp],
    [await ctx.stores.uiAuthSessions.countOpen(since), limit.total],
  ] as const) {
    if (open.count < max) continue;
    const freedAt = (open.oldest ?? ctx.now()) + UIA_SESSION_LIFETIME_MS;
    throw new MatrixError(ErrCode.LimitExceeded, "Too many open registration sessions", {
      extra: { retry_after_ms: Math.max(1000, freedAt - ctx.now()) },
    });
  }
}

export interface UiaResult {
  session: UiAuthSession;
  /** The client's parameters for the operation: this request's body, or the session's stored one. */
  params: Record<string, unknown>;
  /**
   * Each completed stage with its checker's result. Read this rather than the session's rows: a flow completed by
   * its first request (no session given) is never written to the database.
   */
  completed: Map<string, unknown>;
}

/** The body without the parts never stored in a session. */
function storable(body: Record<string, unknown>): Record<string, unknown> {
  const { auth: _auth, password: _password, new_password: _newPassword, ...rest } = body;
  return rest;
}

export async function loadSession(ctx: AccountsContext, sessionId: string): Promise<UiAuthSession | null> {
  const session = await ctx.stores.uiAuthSessions.get(sessionId);
  if (!session || session.creationTime < ctx.now() - UIA_SESSION_LIFETIME_MS) return null;
  return session;
}

/**
 * Creates or continues the session named in `auth`, runs the stage given (if any), and returns when a flow is
 * complete; otherwise throws `UiaIncompleteError` with the 401 body.
 */
export async function checkUiAuth(ctx: AccountsContext, req: UiaRequest): Promise<UiaResult> {
  const rawAuth = req.body.auth;
  delete req.body.auth;
  const auth =
    rawAuth && typeof rawAuth === "object" && !Array.isArray(rawAuth) ? (rawAuth as Record<string, unknown>) : null;
  const sessionId = typeof auth?.session === "string" ? auth.session : null;

  let session: UiAuthSession;
  let params: Record<string, unknown>;
  // A new session is written only when its ID is handed out (a 401): a request that completes a flow on its own
  // (matrix-nio's one-shot `m.login.dummy` registration) leaves no row nobody could ever refer to.
  let persisted = sessionId !== null;
  let limitChecked = false;
  const pendingStages = new Map<string, unknown>();
  if (sessionId === null) {
    session = {
      sessionId: generateSessionId(),
      creationTime: ctx.now(),
      uri: req.uri,
      method: req.method,
      description: req.description,
      clientdict: storable(req.body),
      serverdict: { ...req.serverdict },
    };
    params = req.body;
  } else {
    const found = await loadSession(ctx, sessionId);
    if (!found) throw new MatrixError(ErrCode.Unknown, `Unknown session ID: ${sessionId}`);
    session = found;
    if (session.uri !== req.uri || session.method !== req.method) {
      throw new MatrixError(ErrCode.Unknown, "Requested operation has changed during the UI authentication session.", {
        status: 403,
      });
    }
    const body = storable(req.body);
    if (Object.keys(body).length > 0) {
      await ctx.stores.uiAuthSessions.setClientdict(session.sessionId, body);
      session.clientdict = body;
      params = req.body;
    } else {
      params = { ...session.clientdict, ...req.body };
    }
  }

  const completedStages = async (): Promise<Map<string, unknown>> =>
    persisted ? ctx.stores.uiAuthSessions.completedStages(session.sessionId) : pendingStages;

  const flows = req.flows.map((stages) => ({ stages }));
  const incomplete = async (error?: MatrixError): Promise<never> => {
    if (!persisted) {
      if (req.newSessionLimit) {
        if (!limitChecked) await checkNewSessionLimit(ctx, req.newSessionLimit);
        session.clientIp = req.newSessionLimit.clientIp;
      }
      // The checkers may have put server-side data on the in-memory session (a reserved registration token).
      await ctx.stores.uiAuthSessions.create(session);
      for (const [stage, result] of pendingStages) {
        await ctx.stores.uiAuthSessions.markStageComplete(session.sessionId, stage, result);
      }
      persisted = true;
    }
    const completed = [...(await completedStages()).keys()];
    // Always present, `[]` before any stage, as Synapse sends it: some clients read it unguarded.
    const body: UiaResponse = {
      session: session.sessionId,
      flows,
      params: req.params?.(session.sessionId) ?? {},
      completed,
    };
    if (error) {
      body.errcode = error.errcode;
      body.error = error.message;
    }
    throw new UiaIncompleteError(body);
  };

  const type = typeof auth?.type === "string" ? auth.type : null;
  // A request that cannot finish a flow by itself will need a session: refused before any checker runs, so a
  // checker's side effects (a reserved registration-token use) never outlive a session that was never written.
  if (!persisted && req.newSessionLimit && !(type !== null && req.flows.some((f) => f.every((s) => s === type)))) {
    await checkNewSessionLimit(ctx, req.newSessionLimit);
    limitChecked = true;
  }
  if (type !== null) {
    const inSomeFlow = req.flows.some((f) => f.includes(type));
    const checker = req.checkers[type];
    if (!inSomeFlow || !checker) {
      return incomplete(new MatrixError(ErrCode.Unknown, `Unknown login type ${type}`));
    }
    try {
      const result = (await checker(auth!, session)) ?? true;
      if (persisted) await ctx.stores.uiAuthSessions.markStageComplete(session.sessionId, type, result);
      else pendingStages.set(type, result);
    } catch (err) {
      if (err instanceof MatrixError && err.errcode !== ErrCode.LimitExceeded && !(err instanceof UiaRefusedError)) {
        return incomplete(err);
      }
      throw err;
    }
  }

  const completed = await completedStages();
  if (req.flows.some((f) => f.every((stage) => completed.has(stage)))) return { session, params, completed };
  return incomplete();
}

/**
 * Completes `stage` of an open session outside the exchange, as the spec's fallback page does (Synapse's
 * `add_oob_auth`): the client then resubmits with just the session. `checker` throws a `MatrixError` to refuse.
 */
export async function completeStageOutOfBand(
  ctx: AccountsContext,
  sessionId: string,
  stage: string,
  checker: (session: UiAuthSession) => Promise<unknown>,
): Promise<void> {
  const session = await loadSession(ctx, sessionId);
  if (!session) throw new MatrixError(ErrCode.Unknown, `Unknown session ID: ${sessionId}`);
  const result = (await checker(session)) ?? true;
  await ctx.stores.uiAuthSessions.markStageComplete(session.sessionId, stage, result);
}

/**
 * How long after `loadSession` stops accepting a session the purge waits: a request that loaded it just in time
 * has long finished, so the purge never releases a token use that request is about to complete or reserve.
 */
export const UIA_PURGE_MARGIN_MS = 10 * 60 * 1000;

/**
 * Drops at most `limit` sessions past their 48 hours and, in the same transaction, gives back the
 * registration-token uses they had reserved and not completed (Synapse's `delete_old_ui_auth_sessions`).
 */
export async function purgeExpiredSessions(ctx: AccountsContext, limit?: number): Promise<number> {
  const cutoff = ctx.now() - UIA_SESSION_LIFETIME_MS - UIA_PURGE_MARGIN_MS;
  return ctx.stores.transaction(async (t) => {
    const expired = await t.uiAuthSessions.deleteOlderThan(cutoff, limit);
    const reserved = new Map<string, number>();
    for (const s of expired) {
      const token = s.serverdict.registration_token;
      if (typeof token === "string" && s.serverdict.registration_token_completed !== true) {
        reserved.set(token, (reserved.get(token) ?? 0) + 1);
      }
    }
    // In one order, so two transactions touching the same tokens wait for each other rather than deadlock.
    for (const token of [...reserved.keys()].sort()) await t.registrationTokens.release(token, reserved.get(token));
    return expired.length;
  });
}
