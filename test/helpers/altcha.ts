/**
 * Solving the self-hosted CAPTCHA (`org.gatehouse.altcha`) as a browser does: a challenge fetched for the UIA
 * session from the URL the 401 names, solved with altcha-lib's solver (what the widget's worker runs), and encoded
 * as the widget sends it (base64 of `{challenge, solution}`).
 */
import { solveChallenge, type Challenge } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/pbkdf2";
import { expect } from "vitest";
import { call } from "./http.js";

export const ALTCHA_STAGE = "org.gatehouse.altcha";

/** The `altcha` config with the cheapest work it allows and limits no test reaches. */
export const CHEAP_ALTCHA: Record<string, unknown> = {
  enabled: true,
  cost: 1,
  difficulty: 1,
  challenge_lifetime: "5m",
  rc_challenge: { per_second: 1000, burst_count: 1000 },
};

/** Fetches a challenge for `session` and solves it; returns the `payload` to send and the challenge it answers. */
export async function solveAltcha(url: string, session: string): Promise<{ payload: string; challenge: Challenge }> {
  const r = await call(url, "GET", `/_gatehouse/altcha/challenge?session=${encodeURIComponent(session)}`);
  expect(r.status, r.text).toBe(200);
  const challenge = r.body as unknown as Challenge;
  const solution = await solveChallenge({ challenge, deriveKey });
  expect(solution).not.toBeNull();
  const payload = Buffer.from(
    JSON.stringify({ challenge: { parameters: challenge.parameters, signature: challenge.signature }, solution }),
  ).toString("base64");
  return { payload, challenge };
}
