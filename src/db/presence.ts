/**
 * @module The `presence` table: each user's presence state, status message, last activity and when their latest
 * sync ends at the latest, stamped with the stream position of the last change others are told about.
 *
 * "Sharing a room" here means both users are joined to it: whom presence is shown to (spec "Presence").
 */
import type { ExpressionBuilder, Kysely } from "kysely";
import type { Database } from "./schema.js";

export type PresenceState = "online" | "unavailable" | "offline";

export interface PresenceRecord {
  userId: string;
  state: PresenceState;
  statusMsg: string | null;
  lastActiveTs: number;
  syncUntil: number;
  streamId: number;
}

export interface PresenceStore {
  get(userId: string): Promise<PresenceRecord | null>;
  put(r: PresenceRecord): Promise<void>;
  /** Moves `sync_until` only (no position: nobody else is told). */
  setSyncUntil(userId: string, syncUntil: number): Promise<void>;
  /** Moves `last_active_ts` only, while the state stays what it is. */
  setLastActive(userId: string, ts: number): Promise<void>;
  /** Records of `userId` and of the users sharing a room with them, changed at a position in (`after`, `upTo`]. */
  changedForViewer(userId: string, after: number, upTo: number): Promise<PresenceRecord[]>;
  /** Records of `userId` and of every user sharing a room with them, written at or before `upTo`. */
  visibleTo(userId: string, upTo: number): Promise<PresenceRecord[]>;
  /** Whether `a` and `b` are both joined to some room. */
  shareRoom(a: string, b: string): Promise<boolean>;
  /** The users sharing a room with `userId` (not `userId`). */
  usersSharingRoom(userId: string): Promise<string[]>;
  /**
   * Records not offline that are stale at `now`: online but idle since before `idleBefore`, or with no sync since
   * `syncBefore`; at most `limit`.
   */
  stale(idleBefore: number, syncBefore: number, limit: number): Promise<PresenceRecord[]>;
  /**
   * Writes `next` if the stored record still has `expectedStreamId` (nobody changed it since it was read); false
   * otherwise. What makes a sweep safe to run in several processes at once.
   */
  replaceIf(expectedStreamId: number, next: PresenceRecord): Promise<boolean>;
}

/** Whether the row's user is `userId` or shares a joined room with them. */
function seenBy(userId: string) {
  return (eb: ExpressionBuilder<Database & { p: Database["presence"] }, "p">) =>
    eb.or([
      eb("p.user_id", "=", userId),
      eb.exists(
        eb
          .selectFrom("room_memberships as a")
          .innerJoin("room_memberships as b", "b.room_id", "a.room_id")
          .select("a.room_id")
          .where("a.user_id", "=", userId)
          .where("a.membership", "=", "join")
          .whereRef("b.user_id", "=", "p.user_id")
          .where("b.membership", "=", "join"),
      ),
    ]);
}

export function presenceStore(db: Kysely<Database>): PresenceStore {
  return {
    async get(userId) {
      const row = await db.selectFrom("presence").selectAll().where("user_id", "=", userId).executeTakeFirst();
      return row ? toRecord(row) : null;
    },
    async put(r) {
      const values = {
        state: r.state,
        status_msg: r.statusMsg,
        last_active_ts: r.lastActiveTs,
        sync_until: r.syncUntil,
        stream_id: r.streamId,
      };
      await db
        .insertInto("presence")
        .values({ user_id: r.userId, ...values })
        .onConflict((oc) => oc.column("user_id").doUpdateSet(values))
        .execute();
    },
    async setSyncUntil(userId, syncUntil) {
      await db.updateTable("presence").set({ sync_until: syncUntil }).where("user_id", "=", userId).execute();
    },
    async setLastActive(userId, ts) {
      await db.updateTable("presence").set({ last_active_ts: ts }).where("user_id", "=", userId).execute();
    },
    async changedForViewer(userId, after, upTo) {
      const rows = await db
        .selectFrom("presence as p")
        .selectAll("p")
        .where("p.stream_id", ">", after)
        .where("p.stream_id", "<=", upTo)
        .where(seenBy(userId))
        .orderBy("p.stream_id")
        .execute();
      return rows.map(toRecord);
    },
    async visibleTo(userId, upTo) {
      // Driven by the user's rooms (an index), not by every presence row on the server.
      const rows = await db
        .selectFrom("presence as p")
        .selectAll("p")
        .where("p.stream_id", "<=", upTo)
        .where((eb) =>
          eb.or([
            eb("p.user_id", "=", userId),
            eb(
              "p.user_id",
              "in",
              eb
                .selectFrom("room_memberships as a")
                .innerJoin("room_memberships as b", "b.room_id", "a.room_id")
                .select("b.user_id")
                .where("a.user_id", "=", userId)
                .where("a.membership", "=", "join")
                .where("b.membership", "=", "join"),
            ),
          ]),
        )
        .orderBy("p.stream_id")
        .execute();
      return rows.map(toRecord);
    },
    async shareRoom(a, b) {
      const row = await db
        .selectFrom("room_memberships as x")
        .innerJoin("room_memberships as y", "y.room_id", "x.room_id")
        .select("x.room_id")
        .where("x.user_id", "=", a)
        .where("x.membership", "=", "join")
        .where("y.user_id", "=", b)
        .where("y.membership", "=", "join")
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
    async usersSharingRoom(userId) {
      const rows = await db
        .selectFrom("room_memberships as a")
        .innerJoin("room_memberships as b", "b.room_id", "a.room_id")
        .select("b.user_id")
        .distinct()
        .where("a.user_id", "=", userId)
        .where("a.membership", "=", "join")
        .where("b.membership", "=", "join")
        .where("b.user_id", "!=", userId)
        .execute();
      return rows.map((r) => r.user_id);
    },
    async stale(idleBefore, syncBefore, limit) {
      const rows = await db
        .selectFrom("presence")
        .selectAll()
        .where("state", "in", ["online", "unavailable"])
        .where((eb) =>
          eb.or([
            eb.and([eb("state", "=", "online"), eb("last_active_ts", "<", idleBefore)]),
            eb("sync_until", "<", syncBefore),
          ]),
        )
        .limit(limit)
        .execute();
      return rows.map(toRecord);
    },
    async replaceIf(expectedStreamId, next) {
      const r = await db
        .updateTable("presence")
        .set({
          state: next.state,
          status_msg: next.statusMsg,
          last_active_ts: next.lastActiveTs,
          sync_until: next.syncUntil,
          stream_id: next.streamId,
        })
        .where("user_id", "=", next.userId)
        .where("stream_id", "=", expectedStreamId)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
  };
}

function toRecord(row: {
  user_id: string;
  state: string;
  status_msg: string | null;
  last_active_ts: number;
  sync_until: number;
  stream_id: number;
}): PresenceRecord {
  return {
    userId: row.user_id,
    state: row.state as PresenceState,
    statusMsg: row.status_msg,
    lastActiveTs: Number(row.last_active_ts),
    syncUntil: Number(row.sync_until),
    streamId: Number(row.stream_id),
  };
}
