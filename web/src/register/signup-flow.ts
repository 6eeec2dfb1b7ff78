/**
 * The sign-up page's conversation with the server: the same `POST /register` User-Interactive Auth that Element and
 * Cinny run (`m.login.registration_token` then `m.login.dummy`), so the page has no powers a client does not have.
 */
import { api, ApiError } from "../shared/api";
import type { PasswordPolicy } from "../shared/password";

const CLIENT = "/_matrix/client";
const TOKEN = "m.login.registration_token";
const DUMMY = "m.login.dummy";

/**
 * A stage the user has to do something for (a CAPTCHA): the page shows it and answers the `auth` fields to send.
 * Each such stage's component lives in a file of its own.
 */
export type AskStage = (stage: string, params: Record<string, unknown>) => Promise<Record<string, unknown>>;

export type Mode = { kind: "closed" } | { kind: "open" } | { kind: "token" };

interface UiaBody {
  session?: string;
  flows?: { stages: string[] }[];
  completed?: string[];
  errcode?: string;
  error?: string;
  user_id?: string;
  params?: Record<string, Record<string, unknown>>;
}

/** What the server asks of a sign-up: a 403 means registration is off, a flow with the token stage means invites. */
export async function registrationMode(): Promise<Mode> {
  try {
    const r = await api<UiaBody>("POST", `${CLIENT}/v3/register`, { body: {}, accept: [401] });
    const flows = r.flows ?? [];
    const withoutToken = flows.some((f) => !f.stages.includes(TOKEN));
    return withoutToken ? { kind: "open" } : { kind: "token" };
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return { kind: "closed" };
    throw err;
  }
}

/** `GET /register/m.login.registration_token/validity`: does not use the token up. */
export async function tokenIsValid(token: string): Promise<boolean> {
  const r = await api<{ valid?: unknown }>(
    "GET",
    `${CLIENT}/v1/register/m.login.registration_token/validity?token=${encodeURIComponent(token)}`,
  );
  return r.valid === true;
}

export async function passwordPolicy(): Promise<PasswordPolicy> {
  try {
    return await api<PasswordPolicy>("GET", `${CLIENT}/v3/password_policy`);
  } catch {
    // An older server without the endpoint: the server still checks on registration.
    return {};
  }
}

/** The address to type into a client: the server's advertised `base_url`, else the address of this page. */
export async function homeserverUrl(): Promise<string> {
  try {
    const r = await api<{ "m.homeserver"?: { base_url?: string } }>("GET", "/.well-known/matrix/client");
    const url = r["m.homeserver"]?.base_url;
    if (url) return url.replace(/\/$/, "");
  } catch {
    // No .well-known: the page's own origin is the homeserver.
  }
  return window.location.origin;
}

/**
 * `available` when the name is free; a refusal's ApiError otherwise (`M_USER_IN_USE`, `M_INVALID_USERNAME`); null
 * when the server would not say (rate-limited): the final request checks again anyway.
 */
export async function usernameAvailable(username: string): Promise<"available" | ApiError | null> {
  try {
    await api("GET", `${CLIENT}/v3/register/available?username=${encodeURIComponent(username)}`);
    return "available";
  } catch (err) {
    if (err instanceof ApiError && err.errcode !== "M_LIMIT_EXCEEDED" && err.errcode !== "M_CONNECTION") return err;
    return null;
  }
}

/** Proves an address for the e-mail stage: resolves once the link was mailed (the page then polls). */
export type ProveEmail = () => Promise<{ sid: string; client_secret: string }>;

const EMAIL = "m.login.email.identity";
const POLL_MS = 3000;
const POLL_LIMIT = 400;

export interface RegisterOptions {
  /** The stages `ask` can do (the CAPTCHA), besides the token, the e-mail stage (with `proveEmail`) and dummy. */
  interactive?: string[];
  ask?: AskStage;
  proveEmail?: ProveEmail | null;
}

/**
 * Registers without logging in (no device is made for the page); answers the new user ID. A flow needing the token
 * is chosen only with a token, and one needing nothing else first; a flow without the e-mail stage is preferred, the
 * e-mail flow taken when it is the only one, or when the server refuses the dummy stage (an invite bound to an
 * address). The e-mail stage is asked again every few seconds until the link was opened.
 */
export async function register(
  username: string,
  password: string,
  token: string | null,
  options: RegisterOptions = {},
): Promise<string> {
  const { interactive = [], ask, proveEmail = null } = options;
  const path = `${CLIENT}/v3/register`;
  let r = await api<UiaBody>("POST", path, { body: { username, password, inhibit_login: true }, accept: [401] });
  let useEmail = false;
  let creds: { sid: string; client_secret: string } | null = null;
  let polls = 0;
  for (let step = 0; step < 8 + POLL_LIMIT && !r.user_id; step++) {
    const hasEmailFlow = (r.flows ?? []).some((f) => f.stages.includes(EMAIL));
    if (r.errcode) {
      const waiting = creds !== null && r.errcode === "M_UNAUTHORIZED" && polls < POLL_LIMIT;
      const switchToEmail = !useEmail && r.errcode === "M_FORBIDDEN" && proveEmail !== null && hasEmailFlow;
      if (!waiting && !switchToEmail) {
        throw new ApiError(401, r.errcode, r.error ?? "Refused", r as Record<string, unknown>);
      }
      if (switchToEmail) useEmail = true;
      if (waiting) {
        polls++;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
    const completed = new Set(r.completed ?? []);
    const doable = (f: { stages: string[] }) =>
      f.stages.every(
        (s) =>
          s === DUMMY ||
          (s === TOKEN && token !== null) ||
          (s === EMAIL && proveEmail !== null) ||
          interactive.includes(s),
      );
    const usable = (r.flows ?? []).filter(doable);
    const withoutEmail = usable.filter((f) => !f.stages.includes(EMAIL));
    const flow = useEmail
      ? usable.find((f) => f.stages.includes(EMAIL))
      : (withoutEmail.find((f) => f.stages.every((s) => completed.has(s) || s === TOKEN || s === DUMMY)) ??
        withoutEmail[0] ??
        usable[0] ??
        (r.flows ?? []).find((f) => f.stages.every((s) => s === TOKEN || s === DUMMY)));
    if (!flow || !r.session)
      throw new ApiError(400, "M_UNKNOWN", "This server asks for a sign-up step this page cannot do");
    const next = flow.stages.find((s) => !completed.has(s));
    if (next === TOKEN && token === null)
      throw new ApiError(401, "M_MISSING_PARAM", "An invitation is needed to sign up");
    let auth: Record<string, unknown>;
    if (next === TOKEN) auth = { type: TOKEN, token, session: r.session };
    else if (next === EMAIL && proveEmail) {
      creds ??= await proveEmail();
      auth = { type: EMAIL, threepid_creds: creds, session: r.session };
    } else if (next !== undefined && interactive.includes(next) && ask)
      auth = { ...(await ask(next, { ...r.params?.[next], session: r.session })), type: next, session: r.session };
    else auth = { type: DUMMY, session: r.session };
    r = await api<UiaBody>("POST", path, { body: { auth }, accept: [401] });
  }
  if (!r.user_id) throw new ApiError(400, "M_UNKNOWN", "The sign-up did not finish");
  return r.user_id;
}
