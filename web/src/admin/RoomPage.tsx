/**
 * One room: its details, joined members and current state, and the admin actions on it (make room admin, block,
 * delete). A deletion runs on the server after it is accepted, so the page follows its status until it ends.
 *
 * The page also serves a room the server no longer has (deleted, or never seen): its deletions and its block stay,
 * and a room ID can be blocked before anyone brings the room here.
 */
import { useCallback, useEffect, useState } from "react";
import { ApiError, enc } from "../shared/api";
import { Checkbox, ConfirmButton, ErrorBox, Field, formatTs, Notice } from "../shared/components";
import { Link } from "./App";
import { roomLabel, roomPath, UserLink } from "./links";
import { roomReportsPath } from "./Reports";
import { RoomBadges } from "./Rooms";
import { SYNAPSE, useConsole } from "./session";
import type { ClientEvent, DeleteStatus, RoomDetails } from "./types";

interface Loaded {
  details: RoomDetails | null;
  /** Why the details could not be read (404 for a room the server does not have). */
  detailsError: unknown;
  members: string[];
  state: ClientEvent[];
  block: { block: boolean; user_id?: string };
  deletions: DeleteStatus[];
}

/** A big room has thousands of members and member events; the page lists this many of each. */
const SHOWN = 200;

const running = (d: DeleteStatus) => d.status === "scheduled" || d.status === "active";

/** A 404 as `null`: "none" is an answer here, not a failure. */
async function orNone<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

export function RoomPage({ roomId }: { roomId: string }) {
  const { call, session } = useConsole();
  const [room, setRoom] = useState<Loaded | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [adminUser, setAdminUser] = useState("");
  const [purge, setPurge] = useState(true);
  const [block, setBlock] = useState(false);
  const [noticeUser, setNoticeUser] = useState("");
  const [noticeMessage, setNoticeMessage] = useState("");
  const v1 = `${SYNAPSE}/v1/rooms/${enc(roomId)}`;
  const v2 = `${SYNAPSE}/v2/rooms/${enc(roomId)}`;

  const load = useCallback(async () => {
    try {
      const [blockStatus, deletions] = await Promise.all([
        call<Loaded["block"]>("GET", `${v1}/block`),
        orNone(call<{ results: DeleteStatus[] }>("GET", `${v2}/delete_status`)),
      ]);
      let details: RoomDetails | null = null;
      let detailsError: unknown = null;
      let members: string[] = [];
      let state: ClientEvent[] = [];
      try {
        const [d, m, s] = await Promise.all([
          call<RoomDetails>("GET", v1),
          call<{ members: string[] }>("GET", `${v1}/members`),
          call<{ state: ClientEvent[] }>("GET", `${v1}/state`),
        ]);
        details = d;
        members = m.members;
        state = s.state;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
        detailsError = err;
      }
      setRoom({ details, detailsError, members, state, block: blockStatus, deletions: deletions?.results ?? [] });
      setLoadError(null);
    } catch (err) {
      setLoadError(err);
    }
  }, [call, v1, v2]);

  useEffect(() => void load(), [load]);

  // While a deletion runs on the server, ask again every half second; each answer schedules the next question.
  const deleting = room?.deletions.some(running) ?? false;
  useEffect(() => {
    if (!deleting) return;
    const t = setTimeout(() => void load(), 500);
    return () => clearTimeout(t);
  }, [deleting, room, load]);

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
    await load();
    if (failed === null) setDone(what);
    else setError(failed);
  };

  if (loadError && !room)
    return (
      <>
        <h1>{roomId}</h1>
        <ErrorBox error={loadError} />
        <Link to="rooms">Back to rooms</Link>
      </>
    );
  if (!room) return <p>Loading…</p>;
  const { details } = room;
  const target = adminUser.trim() || session.userId;

  return (
    <>
      <h1>
        {details ? roomLabel(details) : roomId} {details && <RoomBadges r={details} />}
      </h1>
      <ErrorBox error={error ?? loadError} />
      {done && <Notice kind="ok">{done}</Notice>}
      {!details && room.deletions.length === 0 && <ErrorBox error={room.detailsError} />}
      {!details && room.deletions.length > 0 && (
        <p>This room is no longer on the server: its events and state have been purged.</p>
      )}

      {room.deletions.length > 0 && (
        <section className="card" aria-labelledby="deletions-h">
          <h2 id="deletions-h">Deletion</h2>
          <div className="table-wrap">
            <table className="stack" aria-label="Deletions">
              <thead>
                <tr>
                  <th>Delete ID</th>
                  <th>Status</th>
                  <th>Members removed</th>
                  <th>Notice room</th>
                </tr>
              </thead>
              <tbody>
                {room.deletions.map((d) => (
                  <tr key={d.delete_id}>
                    <td data-label="Delete ID">
                      <code>{d.delete_id}</code>
                    </td>
                    <td
                      data-label="Status"
                      data-testid="delete-status"
                      aria-live="polite"
                      className={d.status === "complete" ? "status-ok" : d.status === "failed" ? "status-bad" : ""}
                    >
                      {d.status}
                      {d.error && <div>{d.error}</div>}
                    </td>
                    <td data-label="Members removed">
                      {d.shutdown_room.kicked_users.length}
                      {d.shutdown_room.failed_to_kick_users.length > 0 && (
                        <span className="status-bad"> ({d.shutdown_room.failed_to_kick_users.length} failed)</span>
                      )}
                    </td>
                    <td data-label="Notice room">
                      {d.shutdown_room.new_room_id ? (
                        <Link to={roomPath(d.shutdown_room.new_room_id)}>{d.shutdown_room.new_room_id}</Link>
                      ) : (
                        "–"
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}

      {details && (
        <section className="card" aria-labelledby="details-h">
          <h2 id="details-h">Details</h2>
          <dl className="kv">
            <dt>Room ID</dt>
            <dd>
              <code>{details.room_id}</code>
            </dd>
            <dt>Name</dt>
            <dd>{details.name ?? "–"}</dd>
            <dt>Topic</dt>
            <dd>{details.topic ?? "–"}</dd>
            <dt>Alias</dt>
            <dd>{details.canonical_alias ?? "–"}</dd>
            <dt>Creator</dt>
            <dd>
              <UserLink userId={details.creator} />
            </dd>
            <dt>Members</dt>
            <dd data-testid="joined-members">
              {details.joined_members} joined, {details.joined_local_members} of them local (
              {details.joined_local_devices} devices)
            </dd>
            <dt>Room version</dt>
            <dd>{details.version}</dd>
            <dt>Join rule</dt>
            <dd>{details.join_rules ?? "–"}</dd>
            <dt>Guest access</dt>
            <dd>{details.guest_access ?? "–"}</dd>
            <dt>History visibility</dt>
            <dd>{details.history_visibility ?? "–"}</dd>
            <dt>Encryption</dt>
            <dd>{details.encryption ?? "none"}</dd>
            <dt>In the room directory</dt>
            <dd>{details.public ? "yes" : "no"}</dd>
            <dt>Federation</dt>
            <dd>{details.federatable ? "allowed" : "this server only"}</dd>
            <dt>Forgotten by all local members</dt>
            <dd>{details.forgotten ? "yes" : "no"}</dd>
          </dl>
          <p>
            <Link to={roomReportsPath(roomId)}>Reports about this room</Link>
          </p>
        </section>
      )}

      <section className="card" aria-labelledby="room-actions-h">
        <h2 id="room-actions-h">Actions</h2>
        <p data-testid="block-status">
          {room.block.block ? (
            <>
              <strong className="status-bad">Blocked</strong> by <UserLink userId={room.block.user_id ?? null} />:
              nobody but server admins can join it or be invited.
            </>
          ) : (
            "Not blocked."
          )}
        </p>
        <div className="buttons">
          {details && (
            <ConfirmButton
              label="Make room admin"
              question={
                <>
                  <code>{target}</code> gets the power level of the room&apos;s most powerful local member, and is
                  invited if not in the room and the room is not public.
                </>
              }
              onConfirm={() =>
                act(`${target} is now a room admin.`, () =>
                  call("POST", `${v1}/make_room_admin`, adminUser.trim() ? { user_id: adminUser.trim() } : {}),
                )
              }
            >
              <Field
                label="User ID"
                name="room_admin_user"
                value={adminUser}
                onChange={setAdminUser}
                placeholder={session.userId}
                hint="Empty: you"
              />
            </ConfirmButton>
          )}
          {room.block.block ? (
            <button
              type="button"
              onClick={() => void act("Unblocked.", () => call("PUT", `${v1}/block`, { block: false }))}
            >
              Unblock
            </button>
          ) : (
            <ConfirmButton
              label="Block"
              question="Nobody but server admins can join the room or be invited to it until it is unblocked; its members stay."
              onConfirm={() => act("Blocked.", () => call("PUT", `${v1}/block`, { block: true }))}
            />
          )}
          {details && (
            <ConfirmButton
              label="Delete room"
              danger
              disabled={deleting}
              question="Every local member leaves the room and it leaves the room directory. This cannot be undone."
              onConfirm={() =>
                act("Deletion started.", () =>
                  call("DELETE", v2, {
                    purge,
                    block,
                    ...(noticeUser.trim()
                      ? {
                          new_room_user_id: noticeUser.trim(),
                          ...(noticeMessage.trim() ? { message: noticeMessage } : {}),
                        }
                      : {}),
                  }),
                )
              }
            >
              <Checkbox label="Purge its events and state from the database" checked={purge} onChange={setPurge} />
              <Checkbox label="Block the room ID, so it cannot be joined again" checked={block} onChange={setBlock} />
              <Field
                label="Move local members to a notice room made by"
                name="new_room_user_id"
                value={noticeUser}
                onChange={setNoticeUser}
                placeholder="@notices:example.org"
                hint="Optional: a local user ID; empty, members just leave"
              />
              {noticeUser.trim() && (
                <Field
                  label="Message in the notice room"
                  name="message"
                  value={noticeMessage}
                  onChange={setNoticeMessage}
                  hint="Empty: Synapse's standard message about illegal content"
                />
              )}
            </ConfirmButton>
          )}
        </div>
      </section>

      {details && (
        <section className="card" aria-labelledby="members-h">
          <h2 id="members-h">Members</h2>
          {room.members.length === 0 ? (
            <p>Nobody is joined.</p>
          ) : (
            <ul className="plain" aria-label="Joined members">
              {room.members.slice(0, SHOWN).map((m) => (
                <li key={m}>
                  <UserLink userId={m} />
                </li>
              ))}
            </ul>
          )}
          {room.members.length > SHOWN && (
            <p className="muted">
              The first {SHOWN} of {room.members.length.toLocaleString()} members.
            </p>
          )}
        </section>
      )}

      {details && (
        <section className="card" aria-labelledby="state-h">
          <h2 id="state-h">State</h2>
          <div className="table-wrap">
            <table className="stack" aria-label="State events">
              <thead>
                <tr>
                  <th>Type</th>
                  <th>State key</th>
                  <th>Sender</th>
                  <th>Sent</th>
                  <th>Content</th>
                </tr>
              </thead>
              <tbody>
                {[...room.state]
                  .sort((a, b) => a.type.localeCompare(b.type) || (a.state_key ?? "").localeCompare(b.state_key ?? ""))
                  .slice(0, SHOWN)
                  .map((e) => (
                    <tr key={e.event_id}>
                      <td data-label="Type" className="nowrap">
                        <code>{e.type}</code>
                      </td>
                      <td data-label="State key">{e.state_key || "–"}</td>
                      <td data-label="Sender">
                        <UserLink userId={e.sender} />
                      </td>
                      <td data-label="Sent">{formatTs(e.origin_server_ts)}</td>
                      <td data-label="Content">
                        <pre className="json">{JSON.stringify(e.content, null, 2)}</pre>
                      </td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </div>
          {room.state.length > SHOWN && (
            <p className="muted">
              The first {SHOWN} of {room.state.length.toLocaleString()} state events.
            </p>
          )}
        </section>
      )}
    </>
  );
}
