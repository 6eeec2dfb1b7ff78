/**
 * @module The `ui_auth_sessions` tables: User-Interactive Auth sessions in the database, so a client may send each
 * stage of a flow to a different Gatehouse process.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface UiAuthSession {
  sessionId: string;
  creationTime: number;
  uri: string;
  method: string;
  description: string;
  clientdict: Record<string, unknown>;
  serverdict: Record<string, unknown>;
  /** The unauthenticated caller's address, for sessions that count against `registration_sessions`. */
  clientIp?: string | null;
}

export interface OpenSessionCount {
  count: number;
  /** When the oldest of them was created; null when there are none. */
  oldest: number | null;
}

export interface UiAuthSessionsStore {
  create(session: UiAuthSession): Promise<void>;
  get(sessionId: string): Promise<UiAuthSession | null>;
  setClientdict(sessionId: string, clientdict: Record<string, unknown>): Promise<void>;
  /** Sets one server-side key; other keys are left as they are. */
  setServerValue(sessionId: string, key: string, value: unknown): Promise<void>;
  /** Records a completed stage; completing the same stage again keeps the first result. */
  markStageComplete(sessionId: string, stageType: string, result: unknown): Promise<void>;
  completedStages(sessionId: string): Promise<Map<string, unknown>>;
  /** Sessions created since `since`: all of them, or (with `clientIp`) those that address opened. */
  countOpen(since: number, clientIp?: string): Promise<OpenSessionCount>;
  /**
   * Removes sessions created before `cutoff` (at most `limit` of them, when given) with their stages, and returns
   * them, so callers can undo what they held.
   */
  deleteOlderThan(cutoff: number, limit?: number): Promise<UiAuthSession[]>;
}

export function uiAuthSessionsStore(db: Kysely<Database>): UiAuthSessionsStore {
  return {
    async create(s) {
      await db
        .insertInto("ui_auth_sessions")
        .values({
          session_id: s.sessionId,
          creation_time: s.creationTime,
          uri: s.uri,
          method: s.method,
          description: s.description,
          clientdict: JSON.stringify(s.clientdict),
          serverdict: JSON.stringify(s.serverdict),
          client_ip: s.clientIp ?? null,
        })
        .execute();
    },
    async countOpen(since, clientIp) {
      let q = db
        .selectFrom("ui_auth_sessions")
        .select((eb) => [
          eb.fn.countAll<number | string>().as("n"),
          eb.fn.min<number | string | null>("creation_time").as("oldest"),
        ])
        .where("creation_time", ">=", since);
      if (clientIp !== undefined) q = q.where("client_ip", "=", clientIp);
      const row = await q.executeTakeFirstOrThrow();
      return { count: Number(row.n), oldest: row.oldest === null ? null : Number(row.oldest) };
    },
    async get(sessionId) {
      const row = await db
        .selectFrom("ui_auth_sessions")
        .selectAll()
        .where("session_id", "=", sessionId)
        .executeTakeFirst();
      if (!row) return null;
      return {
        sessionId: row.session_id,
        creationTime: Number(row.creation_time),
        uri: row.uri,
        method: row.method,
        description: row.description,
        clientdict: JSON.parse(row.clientdict) as Record<string, unknown>,
        serverdict: JSON.parse(row.serverdict) as Record<string, unknown>,
      };
    },
    async setClientdict(sessionId, clientdict) {
      await db
        .updateTable("ui_auth_sessions")
        .set({ clientdict: JSON.stringify(clientdict) })
        .where("session_id", "=", sessionId)
        .execute();
    },
    async setServerValue(sessionId, key, value) {
      // Compare-and-swap, retried: a read-then-write transaction loses one of two concurrent updates under
      // PostgreSQL's READ COMMITTED, and a nested transaction cannot run inside a caller's `transaction()`.
      for (;;) {
        const row = await db
          .selectFrom("ui_auth_sessions")
          .select("serverdict")
          .where("session_id", "=", sessionId)
          .executeTakeFirst();
        if (!row) return;
        const dict = JSON.parse(row.serverdict) as Record<string, unknown>;
        dict[key] = value;
        const r = await db
          .updateTable("ui_auth_sessions")
          .set({ serverdict: JSON.stringify(dict) })
          .where("session_id", "=", sessionId)
          .where("serverdict", "=", row.serverdict)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) > 0) return;
      }
    },
    async markStageComplete(sessionId, stageType, result) {
      await db
        .insertInto("ui_auth_sessions_credentials")
        .values({ session_id: sessionId, stage_type: stageType, result: JSON.stringify(result) })
        .onConflict((oc) => oc.columns(["session_id", "stage_type"]).doNothing())
        .execute();
    },
    async completedStages(sessionId) {
      const rows = await db
        .selectFrom("ui_auth_sessions_credentials")
        .select(["stage_type", "result"])
        .where("session_id", "=", sessionId)
        .execute();
      return new Map(rows.map((r) => [r.stage_type, JSON.parse(r.result) as unknown]));
    },
    async deleteOlderThan(cutoff, limit) {
      const old = db.selectFrom("ui_auth_sessions").select("session_id").where("creation_time", "<", cutoff);
      const rows = await db
        .deleteFrom("ui_auth_sessions")
        .where("session_id", "in", limit === undefined ? old : old.limit(limit))
        .returningAll()
        .execute();
      return rows.map((row) => ({
        sessionId: row.session_id,
        creationTime: Number(row.creation_time),
        uri: row.uri,
        method: row.method,
        description: row.description,
        clientdict: JSON.parse(row.clientdict) as Record<string, unknown>,
        serverdict: JSON.parse(row.serverdict) as Record<string, unknown>,
      }));
    },
  };
}
