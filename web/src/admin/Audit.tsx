/** The audit log of admin writes (`GET /_gatehouse/admin/v1/audit`), newest first, filtered by the server. */
import { useEffect, useState, type SyntheticEvent } from "react";
import { query } from "../shared/api";
import { ErrorBox, Field, formatTs, Select } from "../shared/components";
import { Link } from "./App";
import { roomPath, userPath } from "./links";
import { GATEHOUSE, useConsole } from "./session";
import type { AuditEntry } from "./types";

const ACTIONS = [
  "user.create",
  "user.modify",
  "user.set_admin",
  "user.deactivate",
  "user.reset_password",
  "user.login_as",
  "user.shadow_ban",
  "user.shadow_unban",
  "user.suspend",
  "user.unsuspend",
  "device.create",
  "device.update",
  "device.delete",
  "registration_token.create",
  "registration_token.update",
  "registration_token.delete",
  "room.make_room_admin",
  "room.join",
  "room.block",
  "room.unblock",
  "room.delete",
  "room.purge",
  "event_report.delete",
];

/** A recorded value as a reader wants it: times as dates, markers such as `<changed>` as they are. */
function show(key: string, v: unknown): string {
  if (v === undefined) return "–";
  if (typeof v === "number" && (key.endsWith("_time") || key.endsWith("_ts"))) return formatTs(v);
  return typeof v === "string" ? v : JSON.stringify(v);
}

function changes(e: AuditEntry): string[] {
  const keys = [...new Set([...Object.keys(e.before), ...Object.keys(e.after)])];
  return keys.map((k) =>
    k in e.before ? `${k}: ${show(k, e.before[k])} → ${show(k, e.after[k])}` : `${k}: ${show(k, e.after[k])}`,
  );
}

function TargetLink({ target }: { target: string | null }) {
  if (!target) return <>–</>;
  if (target.startsWith("@")) return <Link to={userPath(target)}>{target}</Link>;
  if (target.startsWith("!")) return <Link to={roomPath(target)}>{target}</Link>;
  return <code>{target}</code>;
}

export function AuditTable({ entries }: { entries: AuditEntry[] }) {
  if (entries.length === 0) return <p>No entries.</p>;
  return (
    <div className="table-wrap">
      <table className="stack" aria-label="Audit entries">
        <thead>
          <tr>
            <th>When</th>
            <th>Admin</th>
            <th>Action</th>
            <th>Target</th>
            <th>Change</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td data-label="When">{formatTs(e.ts)}</td>
              <td data-label="Admin">
                {e.actor}
                {e.ip && <div className="muted">from {e.ip}</div>}
              </td>
              <td data-label="Action" className="nowrap">
                <code>{e.action}</code>
              </td>
              <td data-label="Target">
                <TargetLink target={e.target} />
              </td>
              <td data-label="Change">
                {changes(e).map((line) => (
                  <div key={line}>{line}</div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A `<input type="date">` value as milliseconds at the start (or end) of that local day. */
function dayMs(value: string, end: boolean): number | null {
  if (!value) return null;
  const d = new Date(`${value}T00:00:00`);
  if (Number.isNaN(d.getTime())) return null;
  return end ? d.getTime() + 86_400_000 - 1 : d.getTime();
}

export function Audit() {
  const { call } = useConsole();
  const [actor, setActor] = useState("");
  const [target, setTarget] = useState("");
  const [action, setAction] = useState("");
  const [fromDay, setFromDay] = useState("");
  const [toDay, setToDay] = useState("");
  const [filters, setFilters] = useState<Record<string, string | number | null>>({});
  const [pages, setPages] = useState<string[]>([""]);
  const [result, setResult] = useState<{ entries: AuditEntry[]; total: number; next_token?: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const page = pages[pages.length - 1]!;

  useEffect(() => {
    call<{ entries: AuditEntry[]; total: number; next_token?: string }>(
      "GET",
      `${GATEHOUSE}/audit${query({ ...filters, limit: 50, from: page || null })}`,
    )
      .then((r) => {
        setResult(r);
        setError(null);
      })
      .catch(setError);
  }, [call, filters, page]);

  const apply = (e: SyntheticEvent) => {
    e.preventDefault();
    setFilters({
      actor: actor.trim() || null,
      target: target.trim() || null,
      action: action || null,
      from_ts: dayMs(fromDay, false),
      to_ts: dayMs(toDay, true),
    });
    setPages([""]);
  };

  return (
    <>
      <h1>Audit log</h1>
      <form className="card" onSubmit={apply} aria-label="Audit filters">
        <div className="filters">
          <Field label="Admin" name="actor" value={actor} onChange={setActor} placeholder="@admin:example.com" />
          <Field label="Target" name="target" value={target} onChange={setTarget} placeholder="@user:example.com" />
          <Select
            label="Action"
            value={action}
            onChange={setAction}
            options={[["", "Any action"], ...ACTIONS.map((a): [string, string] => [a, a])]}
          />
          <Field label="From day" name="from" type="date" value={fromDay} onChange={setFromDay} />
          <Field label="To day" name="to" type="date" value={toDay} onChange={setToDay} />
        </div>
        <button type="submit" className="primary">
          Apply filters
        </button>
      </form>
      <ErrorBox error={error} />
      {result && (
        <>
          <p className="muted">{result.total.toLocaleString()} matching entries</p>
          <AuditTable entries={result.entries} />
          <div className="pager">
            <button type="button" disabled={pages.length === 1} onClick={() => setPages(pages.slice(0, -1))}>
              Newer
            </button>
            <button
              type="button"
              disabled={!result.next_token}
              onClick={() => result.next_token && setPages([...pages, result.next_token])}
            >
              Older
            </button>
          </div>
        </>
      )}
    </>
  );
}
