/**
 * @module The `events` table: every accepted event as its full PDU, at its position in the stream.
 *
 * A room's timeline is its rows in `stream_ordering` order; pagination reads a window of it in either direction.
 */
import { sql, type Kysely, type RawBuilder } from "kysely";
import { chunks } from "./current-state.js";
import type { Dialect } from "./database.js";
import { reusedQuery } from "./reused-query.js";
import type { Database } from "./schema.js";

export type Pdu = Record<string, unknown>;

export interface StoredEvent {
  streamOrdering: number;
  eventId: string;
  roomId: string;
  type: string;
  stateKey: string | null;
  sender: string;
  originServerTs: number;
  depth: number;
  pdu: Pdu;
  redactedBy: string | null;
  /** Read along with the event by a window read for one reader (`TimelineWindow.reader`). */
  readFor?: ReadFor;
}

/**
 * What serializing an event for one reader would otherwise look up (src/rooms/client-events.ts), read in the same
 * statement as the event: a `/messages` page then makes one statement where it made three.
 */
export interface ReadFor {
  userId: string;
  deviceId: string | null;
  /** The transaction ID with which that device sent the event, if it did and the ID is still kept. */
  transactionId: string | null;
  /** Whether any event relates to this one: without one it has no bundled aggregations. */
  related: boolean;
}

export interface NewEvent extends Omit<StoredEvent, "redactedBy"> {
  relatesTo: string | null;
  relType: string | null;
}

/** A window of a room's timeline: positions in (`after`, `upTo`], read newest first (`b`) or oldest first (`f`). */
export interface TimelineWindow {
  after?: number;
  upTo?: number;
  dir: "b" | "f";
  limit: number;
  /** Each event comes with `readFor` this reader. */
  reader?: { userId: string; deviceId: string | null };
}

export interface EventsStore {
  insert(event: NewEvent): Promise<void>;
  get(eventId: string): Promise<StoredEvent | null>;
  getMany(eventIds: readonly string[]): Promise<StoredEvent[]>;
  /** The events of the room's current state at `keys` (type, state key) that it has, in one statement. */
  currentStateEvents(roomId: string, keys: readonly (readonly [string, string])[]): Promise<StoredEvent[]>;
  /** The room's newest event, which the next one points at. */
  latest(roomId: string): Promise<{ eventId: string; depth: number; streamOrdering: number } | null>;
  /**
   * What each new event of a room needs first, in one statement: the room's version and `latest`; null when the
   * room is unknown.
   */
  roomTip(roomId: string): Promise<{
    roomVersion: string;
    latest: { eventId: string; depth: number; streamOrdering: number } | null;
  } | null>;
  window(roomId: string, w: TimelineWindow): Promise<StoredEvent[]>;
  /** Of each of `roomIds`, its newest `limit` events at or before `upTo`, newest first (one statement per 50). */
  newestInRooms(roomIds: readonly string[], upTo: number, limit: number): Promise<Map<string, StoredEvent[]>>;
  /** How many of the room's events lie in (`after`, `upTo`]. */
  countBetween(roomId: string, after: number, upTo: number): Promise<number>;
  /** The rooms in which `userId` is joined now that have events in (`after`, `upTo`]. */
  joinedRoomsWithEventsBetween(userId: string, after: number, upTo: number): Promise<string[]>;
  setRedactedBy(eventId: string, redactionId: string): Promise<void>;
  /** Events that relate to `eventId`, oldest first, optionally of one relation type and event type. */
  relations(eventId: string, relType?: string, type?: string): Promise<StoredEvent[]>;
  /** A window of the events of `roomId` that relate to `eventId` (or, with `recurse`, to those, to a depth). */
  relationsWindow(roomId: string, eventId: string, q: RelationsQuery, w: TimelineWindow): Promise<StoredEvent[]>;
  /**
   * The room's thread roots by their latest reply, newest activity first, with that activity at or before `upTo`;
   * with `participant`, only threads whose root or a reply that user sent. Redacted replies do not count.
   */
  threadRoots(roomId: string, q: { participant?: string; upTo?: number; limit: number }): Promise<ThreadActivity[]>;
  /** Per event of `eventIds`: its live thread replies and its edits by its own sender (spec "Aggregations"). */
  relationSummaries(eventIds: readonly string[], userId: string): Promise<RelationSummary[]>;
  getAtPositions(positions: readonly number[]): Promise<StoredEvent[]>;
  /**
   * The room's event nearest `ts` in direction `dir`: the first with `origin_server_ts` at or after it (`f`), or
   * the last at or before it (`b`); equal timestamps go by stream order.
   */
  closestToTimestamp(roomId: string, ts: number, dir: "b" | "f"): Promise<StoredEvent | null>;
  /** Every room's events in (`after`, `upTo`], oldest first, at most `limit`: what a stretch of the stream added. */
  inRange(after: number, upTo: number, limit: number): Promise<StoredEvent[]>;
  /** The `m.room.member` events of every room at positions in (`after`, `upTo`], oldest first. */
  membersBetween(after: number, upTo: number): Promise<StoredEvent[]>;
}

export interface RelationsQuery {
  relType?: string;
  type?: string;
  /** Levels of relations to follow; 1 is the direct children only. */
  depth: number;
}

export interface ThreadActivity {
  rootId: string;
  latest: number;
}

export interface RelationSummary {
  eventId: string;
  relType: "m.thread" | "m.replace";
  count: number;
  /** The position of the newest one. */
  latest: number;
  /** How many of them the user sent. */
  mine: number;
}

const COLUMNS = [
  "stream_ordering",
  "event_id",
  "room_id",
  "type",
  "state_key",
  "sender",
  "origin_server_ts",
  "depth",
  "json",
  "redacted_by",
] as const;

type Row = {
  stream_ordering: number;
  event_id: string;
  room_id: string;
  type: string;
  state_key: string | null;
  sender: string;
  origin_server_ts: number;
  depth: number;
  json: string;
  redacted_by: string | null;
};

const byIds = reusedQuery("events.byIds", (db, _: null, v: { eventIds: string[] }) =>
  db.selectFrom("events").select(COLUMNS).where("event_id", "in", v.eventIds).orderBy("stream_ordering"),
);

interface WindowValues {
  roomId: string;
  after: number | undefined;
  upTo: number | undefined;
  limit: number;
  userId: string | undefined;
  deviceId: string | null | undefined;
}

const windowRows = reusedQuery("events.window", (db, dir: "b" | "f", v: WindowValues) => {
  let q = db.selectFrom("events").select(COLUMNS).where("room_id", "=", v.roomId);
  if (v.after !== undefined) q = q.where("stream_ordering", ">", v.after);
  if (v.upTo !== undefined) q = q.where("stream_ordering", "<=", v.upTo);
  return q.orderBy("stream_ordering", dir === "b" ? "desc" : "asc").limit(v.limit);
});

/**
 * The window with each event's `readFor` the reader: one index probe into `relates_to` and one into `event_txns` per
 * event. Both are scalar subqueries with a `LIMIT`: PostgreSQL may run an `EXISTS` as one hash of every event's
 * `relates_to` (a scan of the whole table, which it chose on the benchmark's room), never a subquery with a limit.
 * They are asked of the window's rows, read first exactly as `windowRows` reads them, so the subqueries' costs do not
 * move the window's own plan (PostgreSQL without statistics, a new database, read every event of the room by a
 * bitmap and sorted them for a page of 51).
 */
const windowRowsFor = reusedQuery("events.windowFor", (db, dir: "b" | "f", v: WindowValues) => {
  let inner = db.selectFrom("events").select(COLUMNS).where("room_id", "=", v.roomId);
  if (v.after !== undefined) inner = inner.where("stream_ordering", ">", v.after);
  if (v.upTo !== undefined) inner = inner.where("stream_ordering", "<=", v.upTo);
  const order = dir === "b" ? "desc" : "asc";
  return db
    .selectFrom(inner.orderBy("stream_ordering", order).limit(v.limit).as("w"))
    .selectAll("w")
    .select((eb) => [
      eb
        .selectFrom("events as c")
        .select("c.stream_ordering")
        .whereRef("c.relates_to", "=", "w.event_id")
        .limit(1)
        .as("related"),
      (v.deviceId === null
        ? sql<string | null>`null`
        : eb
            .selectFrom("event_txns as t")
            .select("t.txn_id")
            .whereRef("t.event_id", "=", "w.event_id")
            // `|| ''`: the same comparisons, which no index serves, so the probe is by `event_id` (one row or
            // none). PostgreSQL without statistics took the `(user_id, device_id, …)` key instead and read every
            // transaction of the reader's device for each event: 0.15 ms × 51 for a reader who had sent 500.
            .where(sql<string>`t.user_id || ''`, "=", v.userId as string)
            .where(sql<string>`t.device_id || ''`, "=", v.deviceId as string)
            .limit(1)
      ).as("txn_id"),
    ])
    .orderBy("w.stream_ordering", order);
});

const relationSummaryRows = reusedQuery(
  "events.relationSummaries",
  (db, _: null, v: { eventIds: string[]; userId: string }) =>
    db
      .selectFrom("events as e")
      // `e.room_id || ''`: the same comparison, but no index on it, so SQLite finds `e` by `relates_to` (a few
      // rows) and not by the room (every event of it): with events_room_ts it chose the room, 1.6 s for an
      // initial /sync of 200 rooms of 1,000 events instead of 0.18 s.
      .innerJoin("events as o", (j) =>
        j
          .onRef("o.event_id", "=", "e.relates_to")
          .on(sql<boolean>`${sql.ref("e.room_id")} || '' = ${sql.ref("o.room_id")}`),
      )
      .select((eb) => [
        "e.relates_to",
        "e.rel_type",
        eb.fn.countAll<number>().as("n"),
        eb.fn.max("e.stream_ordering").as("latest"),
        eb.fn.sum<number>(eb.case().when("e.sender", "=", v.userId).then(1).else(0).end()).as("mine"),
      ])
      .where("e.relates_to", "in", v.eventIds)
      .where("e.redacted_by", "is", null)
      .where((eb) =>
        eb.or([
          eb("e.rel_type", "=", "m.thread"),
          // An edit counts only from the original's sender, of the same type, neither of them state (spec
          // "Validity of replacement events").
          eb.and([
            eb("e.rel_type", "=", "m.replace"),
            eb("e.sender", "=", eb.ref("o.sender")),
            eb("e.type", "=", eb.ref("o.type")),
            eb("e.state_key", "is", null),
            eb("o.state_key", "is", null),
          ]),
        ]),
      )
      .groupBy(["e.relates_to", "e.rel_type"]),
);

export function eventsStore(db: Kysely<Database>, dialect: Dialect): EventsStore {
  return {
    async insert(e) {
      await db
        .insertInto("events")
        .values({
          stream_ordering: e.streamOrdering,
          event_id: e.eventId,
          room_id: e.roomId,
          type: e.type,
          state_key: e.stateKey,
          sender: e.sender,
          origin_server_ts: e.originServerTs,
          depth: e.depth,
          json: JSON.stringify(e.pdu),
          redacted_by: null,
          relates_to: e.relatesTo,
          rel_type: e.relType,
        })
        .execute();
    },
    async get(eventId) {
      const row = await db.selectFrom("events").select(COLUMNS).where("event_id", "=", eventId).executeTakeFirst();
      return row ? toEvent(row) : null;
    },
    async getMany(eventIds) {
      if (eventIds.length === 0) return [];
      return (await byIds(db, null, { eventIds: [...eventIds] })).map(toEvent);
    },
    async currentStateEvents(roomId, keys) {
      if (keys.length === 0) return [];
      // Joined, not read as entries and then events: a send reads its auth state this way, and on PostgreSQL each
      // statement is a round trip.
      const rows = await db
        .selectFrom("current_state as cs")
        .innerJoin("events as e", "e.event_id", "cs.event_id")
        .select(COLUMNS.map((c) => `e.${c}` as const))
        .where("cs.room_id", "=", roomId)
        .where((eb) => eb.or(keys.map(([t, k]) => eb.and([eb("cs.type", "=", t), eb("cs.state_key", "=", k)]))))
        .orderBy("e.stream_ordering")
        .execute();
      return rows.map(toEvent);
    },
    async latest(roomId) {
      const row = await db
        .selectFrom("events")
        .select(["event_id", "depth", "stream_ordering"])
        .where("room_id", "=", roomId)
        .orderBy("stream_ordering", "desc")
        .limit(1)
        .executeTakeFirst();
      return row
        ? { eventId: row.event_id, depth: Number(row.depth), streamOrdering: Number(row.stream_ordering) }
        : null;
    },
    async roomTip(roomId) {
      const { rows } = await sql<{
        room_version: string;
        event_id: string | null;
        depth: number | string | null;
        stream_ordering: number | string | null;
      }>`select r.room_version, e.event_id, e.depth, e.stream_ordering
        from rooms r left join events e on e.room_id = r.room_id
          and e.stream_ordering = (select max(stream_ordering) from events where room_id = ${roomId})
        where r.room_id = ${roomId}`.execute(db);
      const row = rows[0];
      if (!row) return null;
      return {
        roomVersion: row.room_version,
        latest:
          row.event_id === null
            ? null
            : { eventId: row.event_id, depth: Number(row.depth), streamOrdering: Number(row.stream_ordering) },
      };
    },
    async window(roomId, w) {
      const v = {
        roomId,
        after: w.after,
        upTo: w.upTo,
        limit: w.limit,
        // Without a device (an admin's reading) there is no transaction ID to read, and no user to read it for.
        userId: w.reader?.deviceId == null ? undefined : w.reader.userId,
        deviceId: w.reader?.deviceId,
      };
      const reader = w.reader;
      if (reader === undefined) return (await windowRows(db, w.dir, v)).map(toEvent);
      return (await windowRowsFor(db, w.dir, v)).map((row) => ({
        ...toEvent(row),
        readFor: {
          userId: reader.userId,
          deviceId: reader.deviceId,
          transactionId: row.txn_id ?? null,
          related: row.related !== null,
        },
      }));
    },
    async newestInRooms(roomIds, upTo, limit) {
      const out = new Map<string, StoredEvent[]>(roomIds.map((id) => [id, []]));
      if (roomIds.length === 0) return out;
      const columns = sql.join(COLUMNS.map((c) => sql.ref(c)));
      const newest = (roomId: RawBuilder<unknown>) =>
        sql`select ${columns} from events where room_id = ${roomId} and stream_ordering <= ${upTo}
          order by stream_ordering desc limit ${limit}`;
      // One indexed `LIMIT` per room: a window function over the rooms would read every one of their events.
      // PostgreSQL runs them as one LATERAL join over the array of rooms: one short plan, where a UNION ALL of 200
      // subqueries took longer to plan than to run. SQLite has no LATERAL: there they are joined by UNION ALL,
      // written as text since the query builder's `unionAll` copies the query for each one it adds.
      const statements =
        dialect === "postgres"
          ? [
              sql<Row>`select e.* from unnest(${[...roomIds]}::text[]) as r(room_id)
              cross join lateral (${newest(sql.ref("r.room_id"))}) as e`,
            ]
          : chunks(roomIds, 50).map(
              (chunk) =>
                sql<Row>`${sql.join(
                  chunk.map((roomId) => sql`select * from (${newest(sql`${roomId}`)})`),
                  sql` union all `,
                )}`,
            );
      for (const { rows } of await Promise.all(statements.map((q) => q.execute(db)))) {
        for (const row of rows) out.get(row.room_id)?.push(toEvent(row));
      }
      for (const list of out.values()) list.sort((a, b) => b.streamOrdering - a.streamOrdering);
      return out;
    },
    async countBetween(roomId, after, upTo) {
      const row = await db
        .selectFrom("events")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("room_id", "=", roomId)
        .where("stream_ordering", ">", after)
        .where("stream_ordering", "<=", upTo)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async joinedRoomsWithEventsBetween(userId, after, upTo) {
      // Driven by the positions (the primary key), so the cost follows what happened since `after`, not how many
      // rooms the user is in.
      const rows = await db
        .selectFrom("events as e")
        .innerJoin("room_memberships as m", (j) =>
          j.onRef("m.room_id", "=", "e.room_id").on("m.user_id", "=", userId).on("m.membership", "=", "join"),
        )
        .select("e.room_id")
        .distinct()
        .where("e.stream_ordering", ">", after)
        .where("e.stream_ordering", "<=", upTo)
        .execute();
      return rows.map((r) => r.room_id);
    },
    async setRedactedBy(eventId, redactionId) {
      await db
        .updateTable("events")
        .set({ redacted_by: redactionId })
        .where("event_id", "=", eventId)
        .where("redacted_by", "is", null)
        .execute();
    },
    async relations(eventId, relType, type) {
      let q = db.selectFrom("events").select(COLUMNS).where("relates_to", "=", eventId);
      if (relType !== undefined) q = q.where("rel_type", "=", relType);
      if (type !== undefined) q = q.where("type", "=", type);
      const rows = await q.orderBy("stream_ordering").execute();
      return rows.map(toEvent);
    },
    async relationsWindow(roomId, eventId, r, w) {
      // Each level is one join on the `relates_to` index; the depth bounds how far a crafted chain can make it go.
      let q = db
        .withRecursive("related(event_id, depth)", (qb) =>
          qb
            .selectFrom("events")
            .select(["event_id", sql<number>`1`.as("depth")])
            .where("relates_to", "=", eventId)
            .where("room_id", "=", roomId)
            .unionAll((u) =>
              u
                .selectFrom("events as c")
                .innerJoin("related as r", "r.event_id", "c.relates_to")
                .select(["c.event_id", sql<number>`r.depth + 1`.as("depth")])
                .where("r.depth", "<", r.depth)
                .where("c.room_id", "=", roomId),
            ),
        )
        .selectFrom("events")
        .innerJoin("related", "related.event_id", "events.event_id")
        .selectAll("events");
      if (r.relType !== undefined) q = q.where("events.rel_type", "=", r.relType);
      if (r.type !== undefined) q = q.where("events.type", "=", r.type);
      if (w.after !== undefined) q = q.where("events.stream_ordering", ">", w.after);
      if (w.upTo !== undefined) q = q.where("events.stream_ordering", "<=", w.upTo);
      const rows = await q
        .orderBy("events.stream_ordering", w.dir === "b" ? "desc" : "asc")
        .limit(w.limit)
        .execute();
      return rows.map(toEvent);
    },
    async threadRoots(roomId, t) {
      let q = db
        .selectFrom("events as e")
        .select(["e.relates_to", (eb) => eb.fn.max("e.stream_ordering").as("latest")])
        .where("e.room_id", "=", roomId)
        .where("e.rel_type", "=", "m.thread")
        .where("e.redacted_by", "is", null)
        .groupBy("e.relates_to");
      if (t.upTo !== undefined) q = q.having((eb) => eb.fn.max("e.stream_ordering"), "<=", t.upTo);
      const participant = t.participant;
      if (participant !== undefined) {
        q = q.where((eb) =>
          eb.or([
            eb(
              "e.relates_to",
              "in",
              eb
                .selectFrom("events as mine")
                .select("mine.relates_to")
                .where("mine.room_id", "=", roomId)
                .where("mine.rel_type", "=", "m.thread")
                .where("mine.sender", "=", participant),
            ),
            eb.exists(
              eb
                .selectFrom("events as root")
                .select("root.event_id")
                .whereRef("root.event_id", "=", "e.relates_to")
                .where("root.sender", "=", participant),
            ),
          ]),
        );
      }
      const rows = await q.orderBy("latest", "desc").limit(t.limit).execute();
      return rows.map((row) => ({ rootId: String(row.relates_to), latest: Number(row.latest) }));
    },
    async relationSummaries(eventIds, userId) {
      if (eventIds.length === 0) return [];
      const rows = await relationSummaryRows(db, null, { eventIds: [...eventIds], userId });
      return rows.map((row) => ({
        eventId: String(row.relates_to),
        relType: row.rel_type as "m.thread" | "m.replace",
        count: Number(row.n),
        latest: Number(row.latest),
        mine: Number(row.mine),
      }));
    },
    async getAtPositions(positions) {
      if (positions.length === 0) return [];
      const rows = await db
        .selectFrom("events")
        .select(COLUMNS)
        .where("stream_ordering", "in", [...positions])
        .orderBy("stream_ordering")
        .execute();
      return rows.map(toEvent);
    },
    async closestToTimestamp(roomId, ts, dir) {
      const order = dir === "f" ? "asc" : "desc";
      const row = await db
        .selectFrom("events")
        .select(COLUMNS)
        .where("room_id", "=", roomId)
        .where("origin_server_ts", dir === "f" ? ">=" : "<=", ts)
        .orderBy("origin_server_ts", order)
        .orderBy("stream_ordering", order)
        .limit(1)
        .executeTakeFirst();
      return row ? toEvent(row) : null;
    },
    async inRange(after, upTo, limit) {
      const rows = await db
        .selectFrom("events")
        .select(COLUMNS)
        .where("stream_ordering", ">", after)
        .where("stream_ordering", "<=", upTo)
        .orderBy("stream_ordering")
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },
    async membersBetween(after, upTo) {
      const rows = await db
        .selectFrom("events")
        .select(COLUMNS)
        .where("stream_ordering", ">", after)
        .where("stream_ordering", "<=", upTo)
        .where("type", "=", "m.room.member")
        .where("state_key", "is not", null)
        .orderBy("stream_ordering")
        .execute();
      return rows.map(toEvent);
    },
  };
}

function toEvent(row: Row): StoredEvent {
  return {
    streamOrdering: Number(row.stream_ordering),
    eventId: row.event_id,
    roomId: row.room_id,
    type: row.type,
    stateKey: row.state_key,
    sender: row.sender,
    originServerTs: Number(row.origin_server_ts),
    depth: Number(row.depth),
    pdu: JSON.parse(row.json) as Pdu,
    redactedBy: row.redacted_by,
  };
}
