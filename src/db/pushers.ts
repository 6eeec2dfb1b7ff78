/**
 * @module The `pushers` table: the push gateways clients registered, one per (app_id, pushkey, user); `data` is
 * the client's JSON object as given.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface Pusher {
  userId: string;
  appId: string;
  pushkey: string;
  kind: string;
  appDisplayName: string;
  deviceDisplayName: string;
  profileTag: string | null;
  lang: string;
  data: Record<string, unknown>;
  /** The device that set it; a replaced pusher keeps its first device, as in Synapse. */
  deviceId: string | null;
  createdTs: number;
}

export interface PushersStore {
  /** The user's pushers, oldest first. */
  forUser(userId: string): Promise<Pusher[]>;
  /** Adds or replaces the user's pusher of (app_id, pushkey); a replaced one keeps its device and creation time. */
  put(pusher: Pusher): Promise<void>;
  /** False when the user had no such pusher. */
  delete(userId: string, appId: string, pushkey: string): Promise<boolean>;
  /** Removes the pushers of (app_id, pushkey) of every other user (a device handed to someone else). */
  deleteOfOthers(userId: string, appId: string, pushkey: string): Promise<void>;
}

export function pushersStore(db: Kysely<Database>): PushersStore {
  return {
    async forUser(userId) {
      const rows = await db
        .selectFrom("pushers")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("created_ts")
        .orderBy("app_id")
        .orderBy("pushkey")
        .execute();
      return rows.map((r) => ({
        userId: r.user_id,
        appId: r.app_id,
        pushkey: r.pushkey,
        kind: r.kind,
        appDisplayName: r.app_display_name,
        deviceDisplayName: r.device_display_name,
        profileTag: r.profile_tag,
        lang: r.lang,
        data: JSON.parse(r.data) as Record<string, unknown>,
        deviceId: r.device_id,
        createdTs: Number(r.created_ts),
      }));
    },
    async put(p) {
      const set = {
        kind: p.kind,
        app_display_name: p.appDisplayName,
        device_display_name: p.deviceDisplayName,
        profile_tag: p.profileTag,
        lang: p.lang,
        data: JSON.stringify(p.data),
      };
      await db
        .insertInto("pushers")
        .values({
          user_id: p.userId,
          app_id: p.appId,
          pushkey: p.pushkey,
          device_id: p.deviceId,
          created_ts: p.createdTs,
          ...set,
        })
        .onConflict((oc) => oc.columns(["app_id", "pushkey", "user_id"]).doUpdateSet(set))
        .execute();
    },
    async delete(userId, appId, pushkey) {
      const r = await db
        .deleteFrom("pushers")
        .where("user_id", "=", userId)
        .where("app_id", "=", appId)
        .where("pushkey", "=", pushkey)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async deleteOfOthers(userId, appId, pushkey) {
      await db
        .deleteFrom("pushers")
        .where("user_id", "!=", userId)
        .where("app_id", "=", appId)
        .where("pushkey", "=", pushkey)
        .execute();
    },
  };
}
