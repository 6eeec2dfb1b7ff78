/**
 * The sign-up page an invite link opens (`/_gatehouse/register/?token=…`), or anyone when registration is open.
 */
import { useEffect, useState, type SyntheticEvent } from "react";
import type { ApiError } from "../shared/api";
import { CopyField, ErrorBox, Field, Notice, useDebounced } from "../shared/components";
import { describeError } from "../shared/errors";
import { EmailStage, type EmailCreds } from "./EmailStage";
import { checkPolicy, type PasswordPolicy } from "../shared/password";
import {
  homeserverUrl,
  passwordPolicy,
  register,
  registrationMode,
  tokenIsValid,
  usernameAvailable,
  type AskStage,
} from "./signup-flow";
import { ALTCHA_STAGE, AltchaStage } from "./AltchaStage";
import { TERMS_STAGE, TermsStage } from "./TermsStage";

/** A stage waiting for the user: its name, the server's params for it, and where its answer goes. */
interface OpenStage {
  name: string;
  params: Record<string, unknown>;
  answer: (auth: Record<string, unknown>) => void;
}

const LOCALPART = /^[a-z0-9._=\-/+]+$/;

type Page =
  | { kind: "checking" }
  | { kind: "closed" }
  | { kind: "needs-invite" }
  | { kind: "invalid-invite" }
  | { kind: "failed"; error: unknown }
  | { kind: "form"; token: string | null }
  | { kind: "done"; userId: string };

export function SignUp() {
  const params = new URLSearchParams(window.location.search);
  const linkToken = params.get("token");
  const boundUsername = params.get("username");
  const [page, setPage] = useState<Page>({ kind: "checking" });
  const [policy, setPolicy] = useState<PasswordPolicy>({});
  const [homeserver, setHomeserver] = useState(window.location.origin);

  useEffect(() => {
    void (async () => {
      try {
        const [mode, p, hs] = await Promise.all([registrationMode(), passwordPolicy(), homeserverUrl()]);
        setPolicy(p);
        setHomeserver(hs);
        if (mode.kind === "closed") setPage({ kind: "closed" });
        else if (mode.kind === "open") setPage({ kind: "form", token: null });
        else if (!linkToken) setPage({ kind: "needs-invite" });
        else setPage((await tokenIsValid(linkToken)) ? { kind: "form", token: linkToken } : { kind: "invalid-invite" });
      } catch (err) {
        setPage({ kind: "failed", error: err });
      }
    })();
  }, [linkToken]);

  return (
    <main className="narrow">
      <h1>{page.kind === "done" ? "Your account is ready" : "Create your Matrix account"}</h1>
      {page.kind === "checking" && <p>Checking your invitation…</p>}
      {page.kind === "failed" && <ErrorBox error={page.error} />}
      {page.kind === "closed" && (
        <Notice kind="warn">
          <strong>Sign-up is closed on this server.</strong> Accounts are made by its administrators: ask them for one.
        </Notice>
      )}
      {page.kind === "needs-invite" && (
        <Notice kind="warn">
          <strong>This server signs people up by invitation only.</strong> Open the invite link you were sent; if you
          have none, ask an administrator of this server for one.
        </Notice>
      )}
      {page.kind === "invalid-invite" && (
        <Notice kind="warn">
          <strong>This invite link can no longer be used.</strong> It has expired, its uses are all taken, or it was
          revoked. Ask the person who invited you for a new link.
        </Notice>
      )}
      {page.kind === "form" && (
        <SignUpForm
          token={page.token}
          boundUsername={boundUsername}
          policy={policy}
          onDone={(userId) => setPage({ kind: "done", userId })}
        />
      )}
      {page.kind === "done" && <Done userId={page.userId} homeserver={homeserver} />}
    </main>
  );
}

function SignUpForm(props: {
  token: string | null;
  boundUsername: string | null;
  policy: PasswordPolicy;
  onDone: (userId: string) => void;
}) {
  const [username, setUsername] = useState(props.boundUsername ?? "");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [problems, setProblems] = useState<{ username?: string; password?: string; confirm?: string }>({});
  const [availability, setAvailability] = useState<"available" | ApiError | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [stage, setStage] = useState<OpenStage | null>(null);
  // Set while the server asks for the e-mail stage: the stage's component resolves it once the link was mailed.
  const [emailWanted, setEmailWanted] = useState<((creds: EmailCreds) => void) | null>(null);
  const settled = useDebounced(username, 400);
  const checks = checkPolicy(password, props.policy);

  useEffect(() => {
    setAvailability(null);
    if (!settled || !LOCALPART.test(settled)) return;
    let stale = false;
    void usernameAvailable(settled).then((a) => !stale && setAvailability(a));
    return () => {
      stale = true;
    };
  }, [settled]);

  const usernameHint = (): string => {
    if (username && !LOCALPART.test(username)) return "Use only lower-case letters a–z, digits 0–9 and . _ = - / +";
    if (settled !== username || availability === null) return "Lower-case letters, digits and . _ = - / +";
    if (availability === "available") return "✓ This username is available.";
    const { words, detail } = describeError(availability);
    return availability.errcode === "M_USER_IN_USE" || !detail ? words : `${words} ${detail}`;
  };

  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    const found: typeof problems = {};
    if (!username) found.username = "Choose a username.";
    else if (!LOCALPART.test(username)) found.username = "Use only lower-case letters a–z, digits 0–9 and . _ = - / +";
    if (!password) found.password = "Choose a password.";
    else if (checks.some((c) => !c.met)) found.password = "The password does not meet every rule below.";
    if (confirm !== password) found.confirm = "The two passwords are not the same.";
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    setError(null);
    try {
      const ask: AskStage = (name, params) =>
        new Promise((resolve) =>
          setStage({
            name,
            params,
            answer: (auth) => {
              setStage(null);
              resolve(auth);
            },
          }),
        );

      const proveEmail = () =>
        new Promise<EmailCreds>((resolve) => {
          setEmailWanted(() => (creds: EmailCreds) => resolve(creds));
        });
      props.onDone(
        await register(username, password, props.token, {
          interactive: [ALTCHA_STAGE, TERMS_STAGE],
          ask,
          proveEmail,
        }),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setStage(null);
      setEmailWanted(null);
    }
  };

  if (emailWanted !== null) return <EmailStage onSent={emailWanted} />;

  return (
    <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-label="Sign up">
      {props.token && <p className="muted">You were invited to this server. Choose a username and a password.</p>}
      <ErrorBox error={error} />
      <Field
        label="Username"
        name="username"
        value={username}
        onChange={(v) => setUsername(v.trim().toLowerCase())}
        autoComplete="username"
        readOnly={props.boundUsername !== null}
        problem={problems.username}
        hint={props.boundUsername !== null ? "This invitation is for this username." : usernameHint()}
        autoFocus={props.boundUsername === null}
      />
      <Field
        label="Password"
        name="password"
        type="password"
        value={password}
        onChange={setPassword}
        autoComplete="new-password"
        problem={problems.password}
        autoFocus={props.boundUsername !== null}
        hint={
          checks.length > 0 ? (
            <ul className="checks" aria-label="Password rules">
              {checks.map((c) => (
                <li key={c.rule} className={c.met ? "met" : undefined}>
                  {c.rule}
                </li>
              ))}
            </ul>
          ) : (
            "Use a long password you do not use anywhere else."
          )
        }
      />
      <Field
        label="Password again"
        name="confirm"
        type="password"
        value={confirm}
        onChange={setConfirm}
        autoComplete="new-password"
        problem={problems.confirm}
      />
      {stage?.name === ALTCHA_STAGE && (
        <AltchaStage
          challengeUrl={String(stage.params.challenge_url)}
          onSolved={(payload) => stage.answer({ payload })}
        />
      )}
      {stage?.name === TERMS_STAGE && <TermsStage params={stage.params} onAccepted={() => stage.answer({})} />}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? "Creating your account…" : "Create account"}
      </button>
    </form>
  );
}

function Done({ userId, homeserver }: { userId: string; homeserver: string }) {
  const localpart = userId.slice(1, userId.indexOf(":"));
  return (
    <div className="card">
      <Notice kind="ok">
        Your Matrix ID is <strong data-testid="new-user-id">{userId}</strong>.
      </Notice>
      <h2>Log in from a Matrix app</h2>
      <ol className="steps">
        <li>Open a Matrix app such as Element or Cinny (on the web, a phone or a computer).</li>
        <li>
          Choose <em>Sign in</em>. Where the app asks for a homeserver (Element: <em>Edit</em> next to the server name),
          type this address:
        </li>
      </ol>
      <CopyField label="Homeserver address" value={homeserver} />
      <ol className="steps" start={3}>
        <li>
          Sign in with the username <code>{localpart}</code> and the password you just chose.
        </li>
      </ol>
    </div>
  );
}
