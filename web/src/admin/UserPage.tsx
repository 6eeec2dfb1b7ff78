/**
 * One account: its profile and every admin action on it. Each action asks the server and then reloads the account
 * from it, so what the page shows is what the server has, also after a refusal.
 */
import { useCallback, useEffect, useState } from "react";
import { enc, query } from "../shared/api";
import { Checkbox, ConfirmButton, ErrorBox, formatTs, Notice, OneTimeSecret } from "../shared/components";
import { generatePassword } from "../shared/password";
import { Link } from "./App";
import { AuditTable } from "./Audit";
import { GATEHOUSE, SYNAPSE, useConsole } from "./session";
import type { AuditEntry, Device, UserDetails } from "./types";
import { UserLinks, type ExternalId } from "./UserLinks";
import { Avatar, UserMedia } from "./UserMedia";
import { UserRooms } from "./UserRooms";
import { UserBadges } from "./Users";

interface Whois {
  devices: Record<string, { sessions: { connections: { ip: string; last_seen: number; user_agent: string }[] }[] }>;
}

export function UserPage({ userId }: { userId: string }) {
  const { call, session, server } = useConsole();
  const [user, setUser] = useState<UserDetails | null>(null);
  const [devices, setDevices] = useState<Device[]>([]);
  const [whois, setWhois] = useState<Whois | null>(null);
  const [audit, setAudit] = useState<AuditEntry[]>([]);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ title: string; password: string } | null>(null);
  const [erase, setErase] = useState(false);
  const [reloads, setReloads] = useState(0);
  const path = `${SYNAPSE}/v2/users/${enc(userId)}`;
  const self = userId === session.userId;

  const load = useCallback(async () => {
    try {
      const [u, d, w, a] = await Promise.all([
        call<UserDetails>("GET", path),
        call<{ devices: Device[] }>("GET", `${path}/devices`),
        call<Whois>("GET", `${SYNAPSE}/v1/whois/${enc(userId)}`),
        call<{ entries: AuditEntry[] }>("GET", `${GATEHOUSE}/audit${query({ target: userId, limit: 20 })}`),
      ]);
      setUser(u);
      setDevices(d.devices);
      setWhois(w);
      setAudit(a.entries);
      setLoadError(null);
    } catch (err) {
      setLoadError(err);
    }
  }, [call, path, userId]);

  useEffect(() => void load(), [load]);

  /** Runs one action; a refusal is shown and the page keeps the server's state (reloaded either way). */
  const act = async (what: string, fn: () => Promise<unknown>) => {
    setError(null);
    setDone(null);
    let failed: unknown = null;
    try {
      await fn();
    } catch (err) {
      failed = err;
    }
    // The message appears with the reloaded account, so the two never disagree.
    await load();
    setReloads((n) => n + 1);
    if (failed === null) setDone(what);
    else setError(failed);
  };

  /** Whether the server took the new list of linked identities. */
  const saveLinks = async (what: string, links: ExternalId[]) => {
    let saved = false;
    await act(what, async () => {
      await call("PUT", path, { external_ids: links });
      saved = true;
    });
    return saved;
  };

  if (loadError && !user)
    return (
      <>
        <h1>{userId}</h1>
        <ErrorBox error={loadError} />
        <Link to="users">Back to users</Link>
      </>
    );
  if (!user) return <p>Loading…</p>;

  const connections = whois
    ? Object.values(whois.devices).flatMap((d) => d.sessions.flatMap((s) => s.connections))
    : [];

  return (
    <>
      <h1>
        {user.displayname ?? user.name} <UserBadges u={user} />
      </h1>
      <ErrorBox error={error} />
      {done && <Notice kind="ok">{done}</Notice>}
      {secret && <OneTimeSecret title={secret.title} password={secret.password} onDone={() => setSecret(null)} />}

      <section className="card" aria-labelledby="profile-h">
        <h2 id="profile-h">Profile</h2>
        <dl className="kv">
          <dt>User ID</dt>
          <dd>
            <code>{user.name}</code>
          </dd>
          <dt>Display name</dt>
          <dd>{user.displayname ?? "–"}</dd>
          <dt>Avatar</dt>
          <dd>
            <Avatar mxc={user.avatar_url} />
          </dd>
          <dt>User type</dt>
          <dd>{user.user_type ?? "ordinary"}</dd>
          <dt>Created</dt>
          <dd>{formatTs(user.creation_ts * 1000)}</dd>
          <dt>Admin</dt>
          <dd data-testid="admin-flag">{user.admin ? "yes" : "no"}</dd>
          <dt>Status</dt>
          <dd data-testid="status">
            {user.deactivated ? "deactivated" : user.locked ? "locked" : "active"}
            {user.erased ? " (erased)" : ""}
          </dd>
          <dt>E-mail and phone</dt>
          <dd>{user.threepids.length ? user.threepids.map((t) => t.address).join(", ") : "–"}</dd>
          <dt>Terms accepted</dt>
          <dd data-testid="consent">
            {user.consent_version === null ? "–" : `version ${user.consent_version}, ${formatTs(user.consent_ts)}`}
          </dd>
        </dl>
      </section>

      <section className="card" aria-labelledby="actions-h">
        <h2 id="actions-h">Actions</h2>
        <div className="buttons">
          {user.admin ? (
            <ConfirmButton
              label="Remove admin"
              question={
                <>
                  <code>{user.name}</code> will no longer be able to use the admin API or this console.
                </>
              }
              onConfirm={() =>
                act("Admin rights removed.", () =>
                  call("PUT", `${SYNAPSE}/v1/users/${enc(userId)}/admin`, { admin: false }),
                )
              }
            />
          ) : (
            <ConfirmButton
              label="Make admin"
              disabled={user.deactivated}
              question={
                <>
                  <code>{user.name}</code> will be able to create, change and deactivate every account on this server.
                </>
              }
              onConfirm={() =>
                act("Now an admin.", () => call("PUT", `${SYNAPSE}/v1/users/${enc(userId)}/admin`, { admin: true }))
              }
            />
          )}
          {!user.deactivated &&
            (user.locked ? (
              <button type="button" onClick={() => void act("Unlocked.", () => call("PUT", path, { locked: false }))}>
                Unlock
              </button>
            ) : (
              <ConfirmButton
                label="Lock"
                question="The account is refused on every request until it is unlocked; nothing is deleted."
                onConfirm={() => act("Locked.", () => call("PUT", path, { locked: true }))}
              />
            ))}
          {!user.deactivated && (
            <ConfirmButton
              label="Reset password"
              question="A new password is generated and shown once; every session of the account is logged out."
              onConfirm={() => {
                const password = generatePassword();
                return act("Password reset.", async () => {
                  await call("POST", `${SYNAPSE}/v1/reset_password/${enc(userId)}`, {
                    new_password: password,
                    logout_devices: true,
                  });
                  setSecret({ title: "New password", password });
                });
              }}
            />
          )}
          {user.deactivated ? (
            <ConfirmButton
              label="Reactivate"
              question="The account can be used again, with a new generated password shown once."
              onConfirm={() => {
                const password = generatePassword();
                return act("Reactivated.", async () => {
                  await call("PUT", path, { deactivated: false, password });
                  setSecret({ title: "Password of the reactivated account", password });
                });
              }}
            />
          ) : (
            <ConfirmButton
              label="Deactivate"
              danger
              disabled={self}
              question="Every session and device of the account ends and its password is removed. The user ID stays taken."
              onConfirm={() =>
                act(erase ? "Deactivated and erased." : "Deactivated.", () =>
                  call("POST", `${SYNAPSE}/v1/deactivate/${enc(userId)}`, { erase }),
                )
              }
            >
              <Checkbox label="Also erase the display name and avatar" checked={erase} onChange={setErase} />
            </ConfirmButton>
          )}
        </div>
        {self && <p className="muted">You cannot deactivate your own account from the console.</p>}
      </section>

      <UserLinks links={user.external_ids} save={saveLinks} />

      <UserRooms userId={userId} refresh={reloads} />

      <UserMedia userId={userId} serverName={server.server_name} />

      <section className="card" aria-labelledby="devices-h">
        <h2 id="devices-h">Devices</h2>
        {devices.length === 0 ? (
          <p>No devices.</p>
        ) : (
          <div className="table-wrap">
            <table className="stack" aria-label="Devices">
              <thead>
                <tr>
                  <th>Device</th>
                  <th>Name</th>
                  <th>Last seen</th>
                  <th>
                    <span className="muted">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {devices.map((d) => (
                  <tr key={d.device_id}>
                    <td data-label="Device">
                      <code>{d.device_id}</code>
                    </td>
                    <td data-label="Name">{d.display_name ?? "–"}</td>
                    <td data-label="Last seen">
                      {formatTs(d.last_seen_ts)}{" "}
                      {d.last_seen_ip && <span className="muted">from {d.last_seen_ip}</span>}
                    </td>
                    <td>
                      <ConfirmButton
                        label="Delete"
                        danger
                        question={<>The device {d.device_id} is logged out and its keys are deleted.</>}
                        onConfirm={() =>
                          act(`Device ${d.device_id} deleted.`, () =>
                            call("DELETE", `${path}/devices/${enc(d.device_id)}`),
                          )
                        }
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="whois-h">
        <h2 id="whois-h">Sessions and IP addresses</h2>
        {connections.length === 0 ? (
          <p>No connections recorded.</p>
        ) : (
          <div className="table-wrap">
            <table className="stack" aria-label="Connections">
              <thead>
                <tr>
                  <th>IP address</th>
                  <th>Client</th>
                  <th>Last seen</th>
                </tr>
              </thead>
              <tbody>
                {connections.map((c, i) => (
                  <tr key={i}>
                    <td data-label="IP">{c.ip}</td>
                    <td data-label="Client">{c.user_agent || "–"}</td>
                    <td data-label="Last seen">{formatTs(c.last_seen)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="audit-h">
        <h2 id="audit-h">Admin actions on this account</h2>
        <AuditTable entries={audit} />
      </section>
    </>
  );
}
