/**
 * @module The `server_meta` table: facts about the server the database belongs to, such as its `server_name`, so
 * a tool that opens the database directly knows whose accounts it holds.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface ServerMetaStore {
  get(key: string): Promise<string | null>;
  /** Sets the key only if it is unset; returns the value now stored. */
  setIfAbsent(key: string, value: string): Promise<string>;
}

export function serverMetaStore(db: Kysely<Database>): ServerMetaStore {
  return {
    async get(key) {
      const row = await db.selectFrom("server_meta").select("value").where("key", "=", key).executeTakeFirst();
      return row?.value ?? null;
    },
    async setIfAbsent(key, value) {
      await db
        .insertInto("server_meta")
        .values({ key, value })
        .onConflict((oc) => oc.column("key").doNothing())
        .execute();
      const row = await db.selectFrom("server_meta").select("value").where("key", "=", key).executeTakeFirstOrThrow();
      return row.value;
    },
  };
}
