/**
 * The rooms a user is joined to (`GET /_synapse/admin/v1/users/{id}/joined_rooms`), each with its name when the
 * server has its details, linking to the room's page.
 */
import { useEffect, useState } from "react";
import { ApiError, enc } from "../shared/api";
import { ErrorBox } from "../shared/components";
import { Link } from "./App";
import { roomLabel, roomPath } from "./links";
import { SYNAPSE, useConsole } from "./session";
import type { RoomDetails } from "./types";

/** Names are looked up for this many rooms; the rest are listed by ID (one request each would be too many). */
const NAMED = 50;

export function UserRooms({ userId, refresh }: { userId: string; refresh: number }) {
  const { call } = useConsole();
  const [rooms, setRooms] = useState<{ room_id: string; name: string | null; canonical_alias: string | null }[]>();
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let stale = false;
    const details = async (id: string, i: number) => {
      const bare = { room_id: id, name: null, canonical_alias: null };
      if (i >= NAMED) return bare;
      try {
        return await call<RoomDetails>("GET", `${SYNAPSE}/v1/rooms/${enc(id)}`);
      } catch (err) {
        // A room deleted between the two answers is still listed, by its ID.
        if (err instanceof ApiError && err.status === 404) return bare;
        throw err;
      }
    };
    call<{ joined_rooms: string[] }>("GET", `${SYNAPSE}/v1/users/${enc(userId)}/joined_rooms`)
      .then((r) => Promise.all(r.joined_rooms.map(details)))
      .then((named) => {
        if (stale) return;
        setRooms(named);
        setError(null);
      })
      .catch((err: unknown) => !stale && setError(err));
    return () => {
      stale = true;
    };
  }, [call, userId, refresh]);

  return (
    <section className="card" aria-labelledby="rooms-h">
      <h2 id="rooms-h">Rooms</h2>
      <ErrorBox error={error} />
      {rooms === undefined ? null : rooms.length === 0 ? (
        <p>Not joined to any room.</p>
      ) : (
        <ul className="plain" aria-label="Joined rooms">
          {rooms.map((r) => (
            <li key={r.room_id}>
              <Link to={roomPath(r.room_id)}>{roomLabel(r)}</Link>
              {r.name !== null && <span className="muted small"> {r.room_id}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
