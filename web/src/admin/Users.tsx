/**
 * The user list: search as you type, filters, sort and pages, all done by the server
 * (`GET /_synapse/admin/v3/users`), so it stays fast however many accounts there are.
 */
import { useEffect, useState } from "react";
import { query } from "../shared/api";
import { Checkbox, ErrorBox, Field, formatTs, Select, useDebounced } from "../shared/components";
import { Link } from "./App";
import { SYNAPSE, useConsole } from "./session";
import type { AdminUser } from "./types";
import { Pager } from "./Pager";

const PAGE = 25;

type Status = "all" | "active" | "deactivated";
type Admins = "any" | "only" | "none";
type UserType = "any" | "ordinary" | "bot" | "support";
type Order = "name" | "displayname" | "creation_ts" | "last_seen_ts" | "admin" | "user_type";

export function UserBadges({ u }: { u: AdminUser }) {
  return (
    <>
      {u.admin && <span className="badge admin">admin</span>}
      {u.deactivated && <span className="badge off">deactivated</span>}
      {u.locked && <span className="badge locked">locked</span>}
      {u.is_guest && <span className="badge">guest</span>}
      {u.user_type && <span className="badge">{u.user_type}</span>}
    </>
  );
}

export function Users() {
  const { call } = useConsole();
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState<Status>("all");
  const [admins, setAdmins] = useState<Admins>("any");
  const [userType, setUserType] = useState<UserType>("any");
  const [locked, setLocked] = useState(true);
  const [guests, setGuests] = useState(true);
  const [order, setOrder] = useState<Order>("name");
  const [backwards, setBackwards] = useState(false);
  const [from, setFrom] = useState(0);
  const [result, setResult] = useState<{ users: AdminUser[]; total: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const term = useDebounced(search.trim(), 250);

  // A new search or filter starts again from the first page.
  useEffect(() => setFrom(0), [term, status, admins, userType, locked, guests, order, backwards]);

  useEffect(() => {
    let stale = false;
    const q = query({
      name: term,
      from,
      limit: PAGE,
      deactivated: status === "all" ? null : status === "deactivated",
      admins: admins === "any" ? null : admins === "only",
      user_types: userType === "any" ? null : [userType === "ordinary" ? "" : userType],
      locked,
      guests,
      order_by: order,
      dir: backwards ? "b" : "f",
    });
    call<{ users: AdminUser[]; total: number }>("GET", `${SYNAPSE}/v3/users${q}`)
      .then((r) => {
        if (stale) return;
        setResult(r);
        setError(null);
      })
      .catch((err: unknown) => !stale && setError(err));
    // Answers to an older search that arrive late are dropped.
    return () => {
      stale = true;
    };
  }, [call, term, from, status, admins, userType, locked, guests, order, backwards]);

  return (
    <>
      <h1>Users</h1>
      <div className="card">
        <Field
          label="Search"
          name="search"
          value={search}
          onChange={setSearch}
          placeholder="Part of a username, display name or user ID"
        />
        <div className="filters">
          <Select<Status>
            label="Status"
            value={status}
            onChange={setStatus}
            options={[
              ["all", "All"],
              ["active", "Active only"],
              ["deactivated", "Deactivated only"],
            ]}
          />
          <Select<Admins>
            label="Admins"
            value={admins}
            onChange={setAdmins}
            options={[
              ["any", "Admins and others"],
              ["only", "Admins only"],
              ["none", "No admins"],
            ]}
          />
          <Select<UserType>
            label="User type"
            value={userType}
            onChange={setUserType}
            options={[
              ["any", "Any type"],
              ["ordinary", "Ordinary users"],
              ["bot", "Bots"],
              ["support", "Support"],
            ]}
          />
          <Select<Order>
            label="Sort by"
            value={order}
            onChange={setOrder}
            options={[
              ["name", "User ID"],
              ["displayname", "Display name"],
              ["creation_ts", "Created"],
              ["last_seen_ts", "Last seen"],
              ["admin", "Admin"],
              ["user_type", "User type"],
            ]}
          />
        </div>
        <div className="buttons">
          <Checkbox label="Include locked" checked={locked} onChange={setLocked} />
          <Checkbox label="Include guests" checked={guests} onChange={setGuests} />
          <Checkbox label="Reverse order" checked={backwards} onChange={setBackwards} />
        </div>
      </div>
      <ErrorBox error={error} />
      {result && (
        <>
          <p className="muted" aria-live="polite">
            {result.total.toLocaleString()} {result.total === 1 ? "account" : "accounts"}
          </p>
          <div className="table-wrap">
            <table className="stack" aria-label="Users">
              <thead>
                <tr>
                  <th>User ID</th>
                  <th>Display name</th>
                  <th>Status</th>
                  <th>Created</th>
                  <th>Last seen</th>
                </tr>
              </thead>
              <tbody>
                {result.users.map((u) => (
                  <tr key={u.name}>
                    <td data-label="User">
                      <Link to={`users/${encodeURIComponent(u.name)}`}>{u.name}</Link>
                    </td>
                    <td data-label="Display name">{u.displayname ?? "–"}</td>
                    <td data-label="Status">
                      <UserBadges u={u} />
                    </td>
                    <td data-label="Created">{formatTs(u.creation_ts)}</td>
                    <td data-label="Last seen">{formatTs(u.last_seen_ts)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager from={from} pageSize={PAGE} total={result.total} setFrom={setFrom} />
        </>
      )}
    </>
  );
}
