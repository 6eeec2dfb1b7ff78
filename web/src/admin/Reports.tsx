/**
 * Reported content (`GET /_synapse/admin/v1/event_reports`), newest first, filtered and paged by the server; and
 * one report with the event it is about (`…/event_reports/{id}`), which an admin can delete once dealt with.
 */
import { useCallback, useEffect, useState, type SyntheticEvent } from "react";
import { query } from "../shared/api";
import { ConfirmButton, ErrorBox, Field, formatTs, Notice } from "../shared/components";
import { Link } from "./App";
import { reportPath, roomLabel, roomPath, UserLink } from "./links";
import { SYNAPSE, useConsole } from "./session";
import type { ClientEvent, EventReport } from "./types";
import { Pager } from "./Pager";

const PAGE = 25;

/** The address of the list filtered to one room (a room's page links there). */
export const roomReportsPath = (roomId: string) => `reports${query({ room_id: roomId })}`;

export function Reports() {
  const { call } = useConsole();
  // The filters a link came with, such as a room page's `?room_id=`.
  const [initial] = useState(() => new URLSearchParams(window.location.search));
  const [room, setRoom] = useState(initial.get("room_id") ?? "");
  const [reporter, setReporter] = useState(initial.get("user_id") ?? "");
  const [filters, setFilters] = useState<{ room_id: string | null; user_id: string | null }>({
    room_id: initial.get("room_id"),
    user_id: initial.get("user_id"),
  });
  const [from, setFrom] = useState(0);
  const [result, setResult] = useState<{ event_reports: EventReport[]; total: number } | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let stale = false;
    call<{ event_reports: EventReport[]; total: number }>(
      "GET",
      `${SYNAPSE}/v1/event_reports${query({ ...filters, from, limit: PAGE })}`,
    )
      .then((r) => {
        if (stale) return;
        setResult(r);
        setError(null);
      })
      .catch((err: unknown) => !stale && setError(err));
    return () => {
      stale = true;
    };
  }, [call, filters, from]);

  const apply = (e: SyntheticEvent) => {
    e.preventDefault();
    setFilters({ room_id: room.trim() || null, user_id: reporter.trim() || null });
    setFrom(0);
  };

  return (
    <>
      <h1>Reports</h1>
      <form className="card" onSubmit={apply} aria-label="Report filters">
        <div className="filters">
          <Field label="Room ID" name="room_id" value={room} onChange={setRoom} placeholder="!room:example.org" />
          <Field
            label="Reported by"
            name="user_id"
            value={reporter}
            onChange={setReporter}
            placeholder="@user:example.org"
          />
        </div>
        <button type="submit" className="primary">
          Apply filters
        </button>
      </form>
      <ErrorBox error={error} />
      {result && (
        <>
          <p className="muted" aria-live="polite">
            {result.total.toLocaleString()} {result.total === 1 ? "report" : "reports"}
          </p>
          {result.event_reports.length === 0 ? (
            <p>No reports.</p>
          ) : (
            <div className="table-wrap">
              <table className="stack" aria-label="Reports">
                <thead>
                  <tr>
                    <th>Report</th>
                    <th>Received</th>
                    <th>Room</th>
                    <th>Reported by</th>
                    <th>Sender</th>
                    <th>Reason</th>
                  </tr>
                </thead>
                <tbody>
                  {result.event_reports.map((r) => (
                    <tr key={r.id} data-report={r.id}>
                      <td data-label="Report">
                        <Link to={reportPath(r.id)}>Report {r.id}</Link>
                      </td>
                      <td data-label="Received">{formatTs(r.received_ts)}</td>
                      <td data-label="Room">
                        <Link to={roomPath(r.room_id)}>{roomLabel(r)}</Link>
                      </td>
                      <td data-label="Reported by">
                        <UserLink userId={r.user_id} />
                      </td>
                      <td data-label="Sender">
                        {r.event_id === null ? "(the whole room)" : <UserLink userId={r.sender} />}
                      </td>
                      <td data-label="Reason">{r.reason ?? "–"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager from={from} pageSize={PAGE} total={result.total} setFrom={setFrom} labels={["Newer", "Older"]} />
        </>
      )}
    </>
  );
}

export function ReportPage({ id }: { id: string }) {
  const { call } = useConsole();
  const [report, setReport] = useState<(EventReport & { event_json: ClientEvent | null }) | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const [deleted, setDeleted] = useState(false);
  const path = `${SYNAPSE}/v1/event_reports/${encodeURIComponent(id)}`;

  const load = useCallback(async () => {
    try {
      setReport(await call("GET", path));
      setLoadError(null);
    } catch (err) {
      setLoadError(err);
    }
  }, [call, path]);
  useEffect(() => void load(), [load]);

  const remove = async () => {
    setError(null);
    try {
      await call("DELETE", path);
      setDeleted(true);
    } catch (err) {
      setError(err);
    }
  };

  if (deleted)
    return (
      <>
        <h1>Report {id}</h1>
        <Notice kind="ok">Report deleted.</Notice>
        <Link to="reports">Back to reports</Link>
      </>
    );
  if (loadError && !report)
    return (
      <>
        <h1>Report {id}</h1>
        <ErrorBox error={loadError} />
        <Link to="reports">Back to reports</Link>
      </>
    );
  if (!report) return <p>Loading…</p>;
  const event = report.event_json;

  return (
    <>
      <h1>Report {report.id}</h1>
      <ErrorBox error={error} />
      <section className="card" aria-labelledby="report-h">
        <h2 id="report-h">Report</h2>
        <dl className="kv">
          <dt>Received</dt>
          <dd>{formatTs(report.received_ts)}</dd>
          <dt>Reported by</dt>
          <dd>
            <UserLink userId={report.user_id} />
          </dd>
          <dt>Reason</dt>
          <dd data-testid="reason">{report.reason ?? "–"}</dd>
          <dt>Score</dt>
          <dd>{report.score ?? "–"}</dd>
          <dt>Room</dt>
          <dd>
            <Link to={roomPath(report.room_id)}>{roomLabel(report)}</Link>
          </dd>
        </dl>
        <div className="buttons">
          <ConfirmButton
            label="Delete report"
            danger
            question="The report is removed from the list; the event and the room are not changed."
            onConfirm={remove}
          />
        </div>
      </section>
      <section className="card" aria-labelledby="event-h">
        <h2 id="event-h">Reported event</h2>
        {report.event_id === null ? (
          <p>The whole room was reported, not one event.</p>
        ) : event === null ? (
          <p>
            The event <code>{report.event_id}</code> is no longer on the server.
          </p>
        ) : (
          <>
            <dl className="kv">
              <dt>Event ID</dt>
              <dd>
                <code>{event.event_id}</code>
              </dd>
              <dt>Sender</dt>
              <dd>
                <UserLink userId={event.sender} />
              </dd>
              <dt>Sent</dt>
              <dd>{formatTs(event.origin_server_ts)}</dd>
              <dt>Type</dt>
              <dd>
                <code>{event.type}</code>
              </dd>
              {typeof event.content.body === "string" && (
                <>
                  <dt>Text</dt>
                  <dd data-testid="event-body">{event.content.body}</dd>
                </>
              )}
            </dl>
            <h3>Event as stored</h3>
            <pre className="json">{JSON.stringify(event, null, 2)}</pre>
          </>
        )}
      </section>
    </>
  );
}
