import { useEffect, useState } from "react";
import { query } from "../shared/api";
import { ErrorBox, formatTs } from "../shared/components";
import { Link } from "./App";
import { SYNAPSE, useConsole } from "./session";
import type { AdminUser } from "./types";

const MODE_WORDS = {
  closed: "Closed: nobody can sign up; accounts are made by admins.",
  token: "By invitation: sign-up needs a registration token (an invite link).",
  open: "Open: anyone can sign up without an invitation.",
};

export function Dashboard() {
  const { server, call, refreshServer } = useConsole();
  const [recent, setRecent] = useState<AdminUser[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    void refreshServer().catch(setError);
    call<{ users: AdminUser[] }>(
      "GET",
      `${SYNAPSE}/v3/users${query({ order_by: "creation_ts", dir: "b", limit: 8, locked: true })}`,
    )
      .then((r) => setRecent(r.users))
      .catch(setError);
    // Once per visit of the page.
  }, []);

  const u = server.users;
  const stats: [string, number][] = [
    ["Active", u.active],
    ["Admins", u.admins],
    ["Deactivated", u.deactivated],
    ["Locked", u.locked],
    ["Guests", u.guests],
    ["All accounts", u.total],
  ];
  return (
    <>
      <h1>Dashboard</h1>
      <ErrorBox error={error} />
      <section className="stats" aria-label="User counts">
        {stats.map(([label, n]) => (
          <div className="stat" key={label}>
            <div className="n">{n.toLocaleString()}</div>
            <div className="label">{label}</div>
          </div>
        ))}
      </section>
      <section className="card" aria-labelledby="reg-h">
        <h2 id="reg-h">Registration</h2>
        <p>
          <strong data-testid="registration-mode">{server.registration}</strong> · {MODE_WORDS[server.registration]}
        </p>
        <p className="muted">
          Set by <code>enable_registration</code> and <code>registration_requires_token</code> in the configuration.
          {server.registration === "token" && (
            <>
              {" "}
              Make invites on the <Link to="tokens">Invites</Link> page.
            </>
          )}
        </p>
        <p className="muted">
          Gatehouse {server.server_version}
          {server.public_baseurl && (
            <>
              {" "}
              · clients connect to <code>{server.public_baseurl}</code>
            </>
          )}
        </p>
      </section>
      <section className="card" aria-labelledby="recent-h">
        <h2 id="recent-h">Recent sign-ups</h2>
        {recent === null ? (
          <p>Loading…</p>
        ) : recent.length === 0 ? (
          <p>No accounts yet.</p>
        ) : (
          <div className="table-wrap">
            <table className="stack">
              <thead>
                <tr>
                  <th>User</th>
                  <th>Display name</th>
                  <th>Created</th>
                </tr>
              </thead>
              <tbody>
                {recent.map((r) => (
                  <tr key={r.name}>
                    <td data-label="User">
                      <Link to={`users/${encodeURIComponent(r.name)}`}>{r.name}</Link>
                    </td>
                    <td data-label="Display name">{r.displayname ?? "–"}</td>
                    <td data-label="Created">{formatTs(r.creation_ts)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
