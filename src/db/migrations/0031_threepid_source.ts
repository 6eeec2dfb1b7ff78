/**
 * @module Which directory put an e-mail address on an account (`user_threepids.source`, e.g. "ldap"), so that a later
 * login replaces that address when the directory's changes, and never touches one the user or an admin added
 * (null). Addresses stored before this migration have no source: they count as the user's.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("user_threepids").addColumn("source", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("user_threepids").dropColumn("source").execute();
}
