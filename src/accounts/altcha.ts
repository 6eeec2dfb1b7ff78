/**
 * @module Gatehouse's self-hosted CAPTCHA: an ALTCHA proof-of-work challenge as the UIA stage
 * `org.gatehouse.altcha`, with no third party in the loop.
 *
 * A challenge is signed by the server and names the UIA session it was issued for, so the server keeps nothing
 * until a solution comes back. Verifying costs one PBKDF2 derivation, which Node runs on its thread pool (never the
 * event loop); at most `MAX_VERIFYING` run at once and at most `MAX_WAITING` wait, the rest are refused with 429.
 * Each challenge is redeemed once: its signature is stored until it expires.
 */
import { createHash } from "node:crypto";
import { createChallenge, verifySolution, type Challenge } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/pbkdf2";
import type { AltchaConfig } from "../config/schema.js";
import { ErrCode, MatrixError } from "../errors.js";
import type { AccountsContext } from "./context.js";
import { loadSession } from "./uia.js";

/** The stage type: namespaced, since the spec defines no proof-of-work stage. */
export const ALTCHA_STAGE = "org.gatehouse.altcha";

/** Where the widget fetches a challenge (`?session=`); the UIA params name it for clients. */
export const ALTCHA_CHALLENGE_PATH = "/_gatehouse/altcha/challenge";

const MAX_VERIFYING = 4;
const MAX_WAITING = 64;

/**
 * The HMAC key for challenges, the same in every process that shares the signing key: Ed25519 signatures are
 * deterministic, so the signature of a fixed label is a secret only the key's holder can compute.
 */
export function altchaSecret(ctx: AccountsContext): string {
  const sig = ctx.signingKey.sign(new TextEncoder().encode("gatehouse altcha challenge hmac v1"));
  return createHash("sha256").update(sig).digest("hex");
}

/** A new challenge for `sessionId`, which must be an open UIA session. */
export async function issueAltchaChallenge(
  ctx: AccountsContext,
  config: AltchaConfig,
  sessionId: string | null,
): Promise<Challenge> {
  if (sessionId === null) throw new MatrixError(ErrCode.MissingParam, "Missing string query parameter 'session'");
  if (!(await loadSession(ctx, sessionId))) throw new MatrixError(ErrCode.NotFound, "Unknown session ID");
  return createChallenge({
    algorithm: config.algorithm,
    cost: config.cost,
    keyPrefix: "0".repeat(config.difficulty),
    deriveKey,
    hmacSignatureSecret: altchaSecret(ctx),
    expiresAt: Math.floor((ctx.now() + config.challenge_lifetime) / 1000),
    data: { session: sessionId },
  });
}

interface Payload {
  challenge: Challenge;
  solution: { counter: number; derivedKey: string };
}

function forged(): MatrixError {
  return new MatrixError(ErrCode.Forbidden, "The CAPTCHA solution is not valid");
}

/** The widget's field: base64 of `{challenge, solution}`. Anything else is a forgery. */
function decodePayload(payload: unknown): Payload {
  if (typeof payload !== "string" || payload.length === 0) {
    throw new MatrixError(ErrCode.MissingParam, "Missing CAPTCHA solution ('payload')");
  }
  if (payload.length > 8192) throw forged();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, "base64").toString("utf8"));
  } catch {
    throw forged();
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  if (
    !isObject(parsed) ||
    !isObject(parsed.challenge) ||
    !isObject(parsed.challenge.parameters) ||
    typeof parsed.challenge.signature !== "string" ||
    !isObject(parsed.solution)
  ) {
    throw forged();
  }
  return parsed as unknown as Payload;
}

/** Bounds the PBKDF2 work running at once; past the queue, a 429 rather than an ever longer wait. */
class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= MAX_VERIFYING) {
      if (this.waiting.length >= MAX_WAITING) {
        throw new MatrixError(ErrCode.LimitExceeded, "Too many CAPTCHA solutions being checked; try again", {
          extra: { retry_after_ms: 1000 },
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

const gate = new Gate();

/**
 * Checks a solution for `sessionId` and redeems its challenge. Every refusal is an `M_FORBIDDEN` the UIA code
 * reports in its 401 (the stage stays incomplete and the client may solve a new challenge), as the spec asks of a
 * failed stage; only a full queue is a 429.
 */
export async function verifyAltchaSolution(
  ctx: AccountsContext,
  config: AltchaConfig,
  payload: unknown,
  sessionId: string,
): Promise<true> {
  const { challenge, solution } = decodePayload(payload);
  const { parameters } = challenge;
  // Read before the signature is checked, but only to refuse: nothing unsigned is trusted.
  if (parameters.data?.session !== sessionId) {
    throw new MatrixError(ErrCode.Forbidden, "This CAPTCHA was solved for another session");
  }
  if (parameters.algorithm !== config.algorithm) throw forged();
  const expiresAt = parameters.expiresAt;
  if (typeof expiresAt !== "number" || expiresAt * 1000 < ctx.now()) {
    throw new MatrixError(ErrCode.Forbidden, "The CAPTCHA has expired; solve a new one");
  }
  // Odd shapes inside a well-formed payload (a non-hex nonce, a counter of the wrong type) make the library throw:
  // that is a forgery too, never a 500.
  const result = await gate.run(() =>
    verifySolution({ challenge, solution, deriveKey, hmacSignatureSecret: altchaSecret(ctx) }).catch(() => null),
  );
  if (!result?.verified) throw forged();
  if (!(await ctx.stores.captchaUsedChallenges.redeem(challenge.signature!, expiresAt * 1000))) {
    throw new MatrixError(ErrCode.Forbidden, "This CAPTCHA has already been used; solve a new one");
  }
  return true;
}

/** Deletes at most `limit` records of redeemed challenges that have expired (they could not be replayed anyway). */
export function purgeUsedChallenges(ctx: AccountsContext, limit?: number): Promise<number> {
  return ctx.stores.captchaUsedChallenges.purgeExpired(ctx.now(), limit);
}
