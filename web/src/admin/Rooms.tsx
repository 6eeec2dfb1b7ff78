/**
 * The room list: search, filters, sort and pages done by the server (`GET /_synapse/admin/v1/rooms`), as the user
 * list is.
 */
import { useEffect, useState } from "react";
import { query } from "../shared/api";
import { Checkbox, ErrorBox, Field, Select, useDebounced } from "../shared/components";
import { Link } from "./App";
import { roomLabel, roomPath, UserLink } from "./links";
import { SYNAPSE, useConsole } from "./session";
import type { AdminRoom } from "./types";
import { Pager } from "./Pager";

const PAGE = 25;

type Order =
  | "name"
  | "canonical_alias"
  | "joined_members"
  | "joined_local_members"
  | "state_events"
  | "version"
  | "creator"
  | "encryption"
  | "federatable"
  | "public"
  | "join_rules"
  | "guest_access"
  | "history_visibility";
type Which = "any" | "yes" | "no";

export function RoomBadges({ r }: { r: AdminRoom }) {
  return (
    <>
      {r.public && <span className="badge">public</span>}
      {r.encryption && <span className="badge">encrypted</span>}
      {r.room_type && <span className="badge">{r.room_type === "m.space" ? "space" : r.room_type}</span>}
      {r.joined_members === 0 && <span className="badge off">empty</span>}
    </>
  );
}

export function Rooms() {
  const { call } = useConsole();
  const [search, setSearch] = useState("");
  const [publicRooms, setPublicRooms] = useState<Which>("any");
  const [emptyRooms, setEmptyRooms] = useState<Which>("any");
  const [order, setOrder] = useState<Order>("name");
  const [backwards, setBackwards] = useState(false);
  const [from, setFrom] = useState(0);
  const [result, setResult] = useState<{ rooms: AdminRoom[]; total_rooms: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const term = useDebounced(search.trim(), 250);

  // A new search or filter starts again from the first page.
  useEffect(() => setFrom(0), [term, publicRooms, emptyRooms, order, backwards]);

  useEffect(() => {
    let stale = false;
    const q = query({
      search_term: term,
      from,
      limit: PAGE,
      public_rooms: publicRooms === "any" ? null : publicRooms === "yes",
      empty_rooms: emptyRooms === "any" ? null : emptyRooms === "yes",
      order_by: order,
      dir: backwards ? "b" : "f",
    });
    call<{ rooms: AdminRoom[]; total_rooms: number }>("GET", `${SYNAPSE}/v1/rooms${q}`)
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
  }, [call, term, from, publicRooms, emptyRooms, order, backwards]);

  return (
    <>
      <h1>Rooms</h1>
      <div className="card">
        <Field
          label="Search"
          name="search"
          value={search}
          onChange={setSearch}
          placeholder="Part of a room name or alias, or a room ID"
        />
        <div className="filters">
          <Select<Which>
            label="Published"
            value={publicRooms}
            onChange={setPublicRooms}
            options={[
              ["any", "Published or not"],
              ["yes", "In the room directory"],
              ["no", "Not in the directory"],
            ]}
          />
          <Select<Which>
            label="Members"
            value={emptyRooms}
            onChange={setEmptyRooms}
            options={[
              ["any", "Empty or not"],
              ["no", "With members"],
              ["yes", "Empty only"],
            ]}
          />
          <Select<Order>
            label="Sort by"
            value={order}
            onChange={setOrder}
            options={[
              ["name", "Name"],
              ["canonical_alias", "Alias"],
              ["joined_members", "Members"],
              ["joined_local_members", "Local members"],
              ["state_events", "State events"],
              ["version", "Room version"],
              ["creator", "Creator"],
              ["encryption", "Encryption"],
              ["federatable", "Federation"],
              ["public", "Published"],
              ["join_rules", "Join rule"],
              ["guest_access", "Guest access"],
              ["history_visibility", "History visibility"],
            ]}
          />
        </div>
        <div className="buttons">
          <Checkbox label="Reverse order" checked={backwards} onChange={setBackwards} />
        </div>
      </div>
      <ErrorBox error={error} />
      {result && (
        <>
          <p className="muted" aria-live="polite">
            {result.total_rooms.toLocaleString()} {result.total_rooms === 1 ? "room" : "rooms"}
          </p>
          {result.rooms.length === 0 ? (
            <p>No rooms.</p>
          ) : (
            <div className="table-wrap">
              <table className="stack" aria-label="Rooms">
                <thead>
                  <tr>
                    <th>Room</th>
                    <th>Alias</th>
                    <th>Members</th>
                    <th>Join rule</th>
                    <th>Kind</th>
                    <th>Creator</th>
                  </tr>
                </thead>
                <tbody>
                  {result.rooms.map((r) => (
                    <tr key={r.room_id} data-room={r.room_id}>
                      <td data-label="Room">
                        <Link to={roomPath(r.room_id)}>{roomLabel(r)}</Link>
                        {r.name !== null && <div className="muted small">{r.room_id}</div>}
                      </td>
                      <td data-label="Alias">{r.canonical_alias ?? "–"}</td>
                      <td data-label="Members" data-testid="members">
                        {r.joined_members}
                        {r.joined_local_members !== r.joined_members && (
                          <span className="muted"> ({r.joined_local_members} local)</span>
                        )}
                      </td>
                      <td data-label="Join rule">{r.join_rules ?? "–"}</td>
                      <td data-label="Kind">
                        <RoomBadges r={r} />
                      </td>
                      <td data-label="Creator">
                        <UserLink userId={r.creator} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager from={from} pageSize={PAGE} total={result.total_rooms} setFrom={setFrom} />
        </>
      )}
    </>
  );
}
