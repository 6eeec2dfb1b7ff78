/**
 * Copies of a room, made in SQL: 200 rooms of 1,000 events through the write path would take the benchmark longer
 * than it has, so one room is made through it (createRoom, joins, sendEvent) and the rest are copies of its rows
 * in every room table, each with its own room ID, event IDs and stream positions.
 *
 * A copy's event IDs are the original's with a prefix (`$c17_…`), so they are not reference hashes and its
 * signatures do not verify: nothing on the paths measured (`/sync`, startup) checks them. Everything a read
 * touches is as the write path leaves it: the same rows, indexes, JSON sizes and state history per room.
 */
import { sql } from "kysely";
import { countersStore } from "../src/db/counters.js";
import type { Db } from "../src/db/database.js";
import { STREAM_COUNTER } from "../src/sync/stream.js";

/** Makes `copies` copies of `roomId`; returns their room IDs. */
export async function copyRoom(db: Db, roomId: string, copies: number): Promise<string[]> {
  if (copies === 0) return [];
  const bare = roomId.slice(1);
  const position = await countersStore(db.kysely).current(STREAM_COUNTER);
  await db.kysely.transaction().execute(async (trx) => {
    // A copy's positions are the original's shifted by whole multiples of the stream so far: distinct, and in
    // the same order within each room.
    const span = sql.lit(position);
    const n = sql.lit(copies);
    const k = sql`with recursive k(n) as (select 1 union all select n + 1 from k where n < ${n})`;
    const room = sql`'!c' || k.n || '_' || ${bare}`;
    const event = (column: string) => sql`replace(${sql.ref(column)}, '$', '$c' || k.n || '_')`;
    await sql`${k} insert into rooms (room_id, room_version, creator, created_ts, is_public)
      select ${room}, room_version, creator, created_ts, is_public from rooms, k where room_id = ${roomId}`.execute(
      trx,
    );
    await sql`${k} insert into events (stream_ordering, event_id, room_id, type, state_key, sender,
        origin_server_ts, depth, json, redacted_by, relates_to, rel_type)
      select stream_ordering + k.n * ${span}, ${event("event_id")}, ${room}, type, state_key, sender,
        origin_server_ts, depth, replace(${event("json")}, ${roomId}, ${room}), ${event("redacted_by")},
        ${event("relates_to")}, rel_type
      from events, k where room_id = ${roomId}`.execute(trx);
    await sql`${k} insert into room_state (room_id, type, state_key, stream_ordering, event_id)
      select ${room}, type, state_key, stream_ordering + k.n * ${span}, ${event("event_id")}
      from room_state, k where room_id = ${roomId}`.execute(trx);
    await sql`${k} insert into current_state (room_id, type, state_key, event_id, stream_ordering)
      select ${room}, type, state_key, ${event("event_id")}, stream_ordering + k.n * ${span}
      from current_state, k where room_id = ${roomId}`.execute(trx);
    await sql`${k} insert into room_memberships (room_id, user_id, membership, event_id, stream_ordering, forgotten)
      select ${room}, user_id, membership, ${event("event_id")}, stream_ordering + k.n * ${span}, forgotten
      from room_memberships, k where room_id = ${roomId}`.execute(trx);
    await trx
      .updateTable("counters")
      .set({ value: sql`value * ${sql.lit(copies + 1)}` })
      .where("name", "=", STREAM_COUNTER)
      .execute();
  });
  // A database that has served for a while has its statistics (autovacuum gathers them once enough rows changed);
  // one filled a second ago has none, and PostgreSQL then plans a lookup of a few hundred events by `relates_to`
  // as a scan of all of them (0.3 ms with statistics, 600 ms without).
  if (db.dialect === "postgres") await sql`analyze`.execute(db.kysely);
  return Array.from({ length: copies }, (_, i) => `!c${i + 1}_${bare}`);
}
