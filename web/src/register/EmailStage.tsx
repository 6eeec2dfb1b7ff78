/**
 * The sign-up page's `m.login.email.identity` stage: the address, "check your inbox" with a resend, while the page
 * asks the server every few seconds whether the link was opened (as Element and Cinny poll). Kept in a file of its
 * own so the other stages' components stay apart.
 */
import { useState, type SyntheticEvent } from "react";
import { api } from "../shared/api";
import { ErrorBox, Field } from "../shared/components";

export interface EmailCreds {
  sid: string;
  client_secret: string;
}

function newClientSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `POST /register/email/requestToken`: the server mails the link; a higher `send_attempt` mails a new one. */
async function requestToken(email: string, clientSecret: string, sendAttempt: number): Promise<string> {
  const r = await api<{ sid: string }>("POST", "/_matrix/client/v3/register/email/requestToken", {
    body: { email, client_secret: clientSecret, send_attempt: sendAttempt },
  });
  return r.sid;
}

export function EmailStage(props: { onSent: (creds: EmailCreds) => void }) {
  const [email, setEmail] = useState("");
  const [secret] = useState(newClientSecret);
  const [attempt, setAttempt] = useState(0);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const send = async (e?: SyntheticEvent) => {
    e?.preventDefault();
    const address = sentTo ?? email.trim();
    if (!address) return;
    setBusy(true);
    setError(null);
    try {
      const sid = await requestToken(address, secret, attempt + 1);
      setAttempt(attempt + 1);
      if (sentTo === null) {
        setSentTo(address);
        props.onSent({ sid, client_secret: secret });
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (sentTo !== null) {
    return (
      <div className="card" aria-label="Confirm your e-mail address">
        <ErrorBox error={error} />
        <p>
          <strong>Check your inbox.</strong> We sent a link to {sentTo}. Open it, then come back: this page goes on by
          itself once the link was opened.
        </p>
        <button type="button" disabled={busy} onClick={() => void send()}>
          {busy ? "Sending…" : "Send the link again"}
        </button>
      </div>
    );
  }
  return (
    <form className="card" onSubmit={(e) => void send(e)} aria-label="Your e-mail address">
      <p>This server confirms an e-mail address for every new account.</p>
      <ErrorBox error={error} />
      <Field label="E-mail address" name="email" type="email" value={email} onChange={setEmail} autoComplete="email" />
      <button type="submit" className="primary" disabled={busy || !email.trim()}>
        {busy ? "Sending…" : "Send me a link"}
      </button>
    </form>
  );
}
