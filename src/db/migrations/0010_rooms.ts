/**
 * @module Rooms and their events (issue 12).
 *
 * - `rooms`: one row per room: its version and whether it is listed in the public room directory.
 * - `events`: every accepted event as a full PDU (`json`), keyed by `stream_ordering`, its position in the one
 *   stream `/sync` tokens count (src/sync/stream.ts). A room's timeline is its events in that order; events of one
 *   room are appended one at a time, each pointing at the one before it, so the DAG never forks.
 * - `room_state`: every state event, by (room, type, state key, position): the state at any position is, per key,
 *   the latest row at or before it, which is how history visibility, `/members?at=` and `/context` read the past.
 * - `current_state`: the latest of those per key, for the common question "what is the state now".
 * - `room_memberships`: the current membership per (room, user), indexed by user for "my rooms".
 * - `event_txns`: (user, device, transaction ID) → event, so a retried send returns the event it made.
 * - `room_aliases`: this server's room aliases and who made each.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rooms")
    .addColumn("room_id", "text", (c) => c.primaryKey())
    .addColumn("room_version", "text", (c) => c.notNull())
    .addColumn("creator", "text", (c) => c.notNull())
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .addColumn("is_public", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable("events")
    .addColumn("stream_ordering", "bigint", (c) => c.primaryKey())
    .addColumn("event_id", "text", (c) => c.notNull().unique())
    .addColumn("room_id", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("state_key", "text")
    .addColumn("sender", "text", (c) => c.notNull())
    .addColumn("origin_server_ts", "bigint", (c) => c.notNull())
    .addColumn("depth", "bigint", (c) => c.notNull())
    .addColumn("json", "text", (c) => c.notNull())
    .addColumn("redacted_by", "text")
    .addColumn("relates_to", "text")
    .addColumn("rel_type", "text")
    .execute();
  await db.schema.createIndex("events_room").on("events").columns(["room_id", "stream_ordering"]).execute();
  await db.schema.createIndex("events_relates_to").on("events").columns(["relates_to", "stream_ordering"]).execute();
  await db.schema
    .createTable("room_state")
    .addColumn("room_id", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("state_key", "text", (c) => c.notNull())
    .addColumn("stream_ordering", "bigint", (c) => c.notNull())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("room_state_pk", ["room_id", "type", "state_key", "stream_ordering"])
    .execute();
  await db.schema.createIndex("room_state_position").on("room_state").columns(["room_id", "stream_ordering"]).execute();
  // "Each membership change of this user, in any room", which an incremental sync asks for on every wake.
  await db.schema
    .createIndex("room_state_key")
    .on("room_state")
    .columns(["type", "state_key", "stream_ordering"])
    .execute();
  await db.schema
    .createTable("current_state")
    .addColumn("room_id", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("state_key", "text", (c) => c.notNull())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("stream_ordering", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("current_state_pk", ["room_id", "type", "state_key"])
    .execute();
  await db.schema
    .createTable("room_memberships")
    .addColumn("room_id", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("membership", "text", (c) => c.notNull())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("stream_ordering", "bigint", (c) => c.notNull())
    .addColumn("forgotten", "integer", (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("room_memberships_pk", ["room_id", "user_id"])
    .execute();
  await db.schema
    .createIndex("room_memberships_user")
    .on("room_memberships")
    .columns(["user_id", "membership"])
    .execute();
  await db.schema
    .createTable("event_txns")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("txn_id", "text", (c) => c.notNull())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("event_txns_pk", ["user_id", "device_id", "txn_id"])
    .execute();
  await db.schema.createIndex("event_txns_event").on("event_txns").column("event_id").execute();
  await db.schema
    .createTable("room_aliases")
    .addColumn("alias", "text", (c) => c.primaryKey())
    .addColumn("room_id", "text", (c) => c.notNull())
    .addColumn("creator", "text", (c) => c.notNull())
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("room_aliases_room").on("room_aliases").column("room_id").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    "room_aliases",
    "event_txns",
    "room_memberships",
    "current_state",
    "room_state",
    "events",
    "rooms",
  ]) {
    await db.schema.dropTable(t).execute();
  }
}
