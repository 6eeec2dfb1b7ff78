/**
 * Registration tokens as invitations: each comes with the link to send, and its pending and completed uses.
 * "Revoke" sets the allowed uses to the uses already made, which keeps the token's history (delete would lose it)
 * and lets sign-ups already past the token step finish.
 */
import { useCallback, useEffect, useState, type SyntheticEvent } from "react";
import { canonicalEmail } from "../../../src/shared/email";
import { enc, query } from "../shared/api";
import { ConfirmButton, CopyField, ErrorBox, Field, formatTs, Notice } from "../shared/components";
import { inviteToken } from "../shared/password";
import { SYNAPSE, useConsole } from "./session";
import type { RegistrationToken } from "./types";

export function inviteLink(base: string, t: RegistrationToken): string {
  return `${base}/_gatehouse/register/${query({ token: t.token, username: t.bound_username ?? null })}`;
}

function tokenState(t: RegistrationToken, now: number): "usable" | "used up" | "expired" {
  if (t.expiry_time !== null && t.expiry_time <= now) return "expired";
  if (t.uses_allowed !== null && t.pending + t.completed >= t.uses_allowed) return "used up";
  return "usable";
}

export function Tokens() {
  const { call, server } = useConsole();
  const [tokens, setTokens] = useState<RegistrationToken[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<RegistrationToken | null>(null);
  const [uses, setUses] = useState("1");
  const [days, setDays] = useState("7");
  const [boundUsername, setBoundUsername] = useState("");
  const [boundEmail, setBoundEmail] = useState("");
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const base = (server.public_baseurl ?? window.location.origin + "/").replace(/\/$/, "");

  const load = useCallback(async () => {
    try {
      const r = await call<{ registration_tokens: RegistrationToken[] }>("GET", `${SYNAPSE}/v1/registration_tokens`);
      setTokens(r.registration_tokens.reverse());
    } catch (err) {
      setError(err);
    }
  }, [call]);
  useEffect(() => void load(), [load]);

  const create = async (e: SyntheticEvent) => {
    e.preventDefault();
    const found: Record<string, string> = {};
    const usesN = uses.trim() === "" ? null : Number(uses);
    if (usesN !== null && (!Number.isInteger(usesN) || usesN < 1))
      found.uses = "A whole number of 1 or more, or empty.";
    const daysN = days.trim() === "" ? null : Number(days);
    if (daysN !== null && (!Number.isFinite(daysN) || daysN <= 0)) found.days = "A number of days above 0, or empty.";
    if (boundEmail.trim() && canonicalEmail(boundEmail) === null) found.email = "This is not an e-mail address.";
    if (boundUsername.trim() && !/^@?[a-zA-Z0-9._=\-/+]+(:.+)?$/.test(boundUsername.trim()))
      found.username = "Use only a–z, 0–9 and . _ = - / +";
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = {
        token: inviteToken(),
        uses_allowed: usesN,
        expiry_time: daysN === null ? null : Date.now() + Math.round(daysN * 86_400_000),
      };
      if (boundUsername.trim()) body.bound_username = boundUsername.trim();
      if (boundEmail.trim()) body.bound_email = boundEmail.trim();
      const t = await call<RegistrationToken>("POST", `${SYNAPSE}/v1/registration_tokens/new`, body);
      setCreated(t);
      setBoundUsername("");
      setBoundEmail("");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
    await load();
  };

  const change = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(err);
    }
    await load();
  };

  const now = Date.now();
  return (
    <>
      <h1>Invites</h1>
      {server.registration !== "token" && (
        <Notice kind="warn">
          Registration is <strong>{server.registration}</strong> on this server:{" "}
          {server.registration === "closed"
            ? "invite links will not work until enable_registration and registration_requires_token are set."
            : "anyone can sign up; tokens are not needed."}
        </Notice>
      )}
      <ErrorBox error={error} />
      {created && (
        <section className="secret-box" aria-label="New invite">
          <h3>Invite created</h3>
          <p>
            Send this link to the person you invite
            {created.bound_email ? <> at {created.bound_email}</> : null}. It works{" "}
            {created.uses_allowed === null
              ? "any number of times"
              : created.uses_allowed === 1
                ? "once"
                : `${created.uses_allowed} times`}
            {created.expiry_time ? <> until {formatTs(created.expiry_time)}</> : null}.
          </p>
          <CopyField label="Invite link" value={inviteLink(base, created)} />
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </section>
      )}
      <form className="card" onSubmit={(e) => void create(e)} noValidate aria-label="Create invite">
        <h2>New invite</h2>
        <div className="form-grid">
          <Field
            label="Uses"
            name="uses"
            value={uses}
            onChange={setUses}
            inputMode="numeric"
            hint="Empty: unlimited"
            problem={problems.uses}
          />
          <Field
            label="Valid for (days)"
            name="days"
            value={days}
            onChange={setDays}
            inputMode="numeric"
            hint="Empty: never expires"
            problem={problems.days}
          />
          <Field
            label="Only for username"
            name="bound_username"
            value={boundUsername}
            onChange={setBoundUsername}
            problem={problems.username}
            hint="Optional: nobody else can use it"
          />
          <Field
            label="Sent to e-mail"
            name="bound_email"
            type="email"
            value={boundEmail}
            onChange={setBoundEmail}
            problem={problems.email}
            hint="Optional: added to the new account"
          />
        </div>
        <button type="submit" className="primary" disabled={busy}>
          Create invite
        </button>
      </form>

      <h2>All invites</h2>
      {tokens === null ? (
        <p>Loading…</p>
      ) : tokens.length === 0 ? (
        <p>No invites yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="stack" aria-label="Invites">
            <thead>
              <tr>
                <th>Token</th>
                <th>State</th>
                <th>Completed</th>
                <th>Pending</th>
                <th>Allowed</th>
                <th>Expires</th>
                <th>For</th>
                <th>
                  <span className="muted">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => {
                const state = tokenState(t, now);
                return (
                  <tr key={t.token} data-token={t.token}>
                    <td data-label="Token">
                      <code>{t.token}</code>
                    </td>
                    <td data-label="State" className={state === "usable" ? "status-ok" : "status-bad"}>
                      {state}
                    </td>
                    <td data-label="Completed" data-testid="completed">
                      {t.completed}
                    </td>
                    <td data-label="Pending">{t.pending}</td>
                    <td data-label="Allowed">{t.uses_allowed ?? "unlimited"}</td>
                    <td data-label="Expires">{formatTs(t.expiry_time)}</td>
                    <td data-label="For">{[t.bound_username, t.bound_email].filter(Boolean).join(", ") || "anyone"}</td>
                    <td>
                      <div className="buttons">
                        {state === "usable" && (
                          <button
                            type="button"
                            onClick={() => {
                              setCreated(t);
                              window.scrollTo(0, 0);
                            }}
                          >
                            Link
                          </button>
                        )}
                        {state === "usable" && (
                          <ConfirmButton
                            label="Revoke"
                            question="The link stops working now; sign-ups already past the invite step still finish."
                            onConfirm={() =>
                              change(() =>
                                call("PUT", `${SYNAPSE}/v1/registration_tokens/${enc(t.token)}`, {
                                  uses_allowed: t.pending + t.completed,
                                }),
                              )
                            }
                          />
                        )}
                        <ConfirmButton
                          label="Delete"
                          danger
                          question="The token and its counts are removed for good."
                          onConfirm={() =>
                            change(() => call("DELETE", `${SYNAPSE}/v1/registration_tokens/${enc(t.token)}`))
                          }
                        />
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
