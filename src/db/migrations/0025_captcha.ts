/**
 * @module Solved CAPTCHA challenges: an ALTCHA challenge is signed by the server and checked without any stored
 * state, so to make each one single-use its signature is kept here until the challenge has expired.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("captcha_used_challenges")
    .addColumn("signature", "text", (c) => c.primaryKey())
    .addColumn("expires_ts", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("captcha_used_challenges_expires")
    .on("captcha_used_challenges")
    .column("expires_ts")
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("captcha_used_challenges").execute();
}
