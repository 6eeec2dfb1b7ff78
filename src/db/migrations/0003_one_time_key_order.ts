/**
 * @module One-time keys remember when they were uploaded, so `/keys/claim` hands them out oldest first, as the spec
 * asks ("in the order that they were uploaded"; keys of one upload are equivalent).
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("one_time_keys")
    .addColumn("ts_added_ms", "bigint", (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("one_time_keys").dropColumn("ts_added_ms").execute();
}
