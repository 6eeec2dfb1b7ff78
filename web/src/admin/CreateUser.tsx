/**
 * A new account, made by `PUT /_synapse/admin/v2/users/{id}` after `username_available` said the name is free (the
 * same PUT would otherwise change an existing account's password).
 */
import { useState, type SyntheticEvent } from "react";
import { enc, query } from "../shared/api";
import { Checkbox, ErrorBox, Field, OneTimeSecret, Select } from "../shared/components";
import { generatePassword } from "../shared/password";
import { Link } from "./App";
import { SYNAPSE, useConsole } from "./session";

const LOCALPART = /^[a-z0-9._=\-/+]+$/;

export function CreateUser() {
  const { call, server } = useConsole();
  const [username, setUsername] = useState("");
  const [displayname, setDisplayname] = useState("");
  const [admin, setAdmin] = useState(false);
  const [userType, setUserType] = useState<"" | "bot" | "support">("");
  const [problem, setProblem] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ userId: string; password: string } | null>(null);

  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    const localpart = username
      .trim()
      .replace(/^@/, "")
      .replace(new RegExp(`:${server.server_name}$`), "");
    const found = !localpart
      ? "Enter a username."
      : !LOCALPART.test(localpart)
        ? "Use only a–z, 0–9 and . _ = - / +"
        : null;
    setProblem(found);
    if (found) return;
    setError(null);
    setBusy(true);
    const userId = `@${localpart}:${server.server_name}`;
    const password = generatePassword();
    try {
      await call("GET", `${SYNAPSE}/v1/username_available${query({ username: localpart })}`);
      await call("PUT", `${SYNAPSE}/v2/users/${enc(userId)}`, {
        password,
        displayname: displayname.trim() || null,
        admin,
        user_type: userType || null,
      });
      setCreated({ userId, password });
      setUsername("");
      setDisplayname("");
      setAdmin(false);
      setUserType("");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>Create user</h1>
      {created && (
        <>
          <p>
            Created <Link to={`users/${encodeURIComponent(created.userId)}`}>{created.userId}</Link>.
          </p>
          <OneTimeSecret
            title="Password of the new account"
            password={created.password}
            onDone={() => setCreated(null)}
          />
        </>
      )}
      <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-label="Create user">
        <ErrorBox error={error} />
        <Field
          label="Username"
          name="username"
          value={username}
          onChange={setUsername}
          problem={problem}
          hint={<>The Matrix ID will be @username:{server.server_name}</>}
        />
        <Field label="Display name (optional)" name="displayname" value={displayname} onChange={setDisplayname} />
        <Select<"" | "bot" | "support">
          label="User type"
          value={userType}
          onChange={setUserType}
          options={[
            ["", "Ordinary user"],
            ["bot", "Bot"],
            ["support", "Support"],
          ]}
        />
        <Checkbox label="Server admin" checked={admin} onChange={setAdmin} name="admin" />
        <p className="muted">A password is generated and shown once after the account is made.</p>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Creating…" : "Create user"}
        </button>
      </form>
    </>
  );
}
