/**
 * @module E-mail: validation of addresses (Synapse's `threepid_validation_session` and `threepid_validation_token`)
 * and the outbox the background job sends from.
 *
 * - `threepid_validation_session`: one per (client_secret, medium, address, purpose); `last_send_attempt` is the
 *   client's `send_attempt` that last sent a mail, so a retried request sends none. `validated_at` is set when a
 *   link is followed. `purpose` (Gatehouse's own) is the endpoint that opened it (`register`, `add`, `reset`): a
 *   session proves an address only for what it was asked for.
 * - `threepid_validation_token`: the tokens mailed for a session, stored as SHA-256 (the link holds the token
 *   itself), each used once; `next_link` is where the browser goes afterwards.
 * - `email_outbox`: mails written in the transaction of the request that causes them and sent by the job runner,
 *   so no request waits on SMTP and an SMTP outage loses nothing; `attempts` and `next_attempt_ts` drive the backoff.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("threepid_validation_session")
    .addColumn("session_id", "text", (c) => c.primaryKey())
    .addColumn("medium", "text", (c) => c.notNull())
    .addColumn("address", "text", (c) => c.notNull())
    .addColumn("client_secret", "text", (c) => c.notNull())
    .addColumn("purpose", "text", (c) => c.notNull())
    .addColumn("last_send_attempt", "integer", (c) => c.notNull())
    .addColumn("validated_at", "bigint")
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("threepid_validation_session_lookup")
    .on("threepid_validation_session")
    .columns(["client_secret", "medium", "address", "purpose"])
    .unique()
    .execute();
  await db.schema
    .createIndex("threepid_validation_session_created")
    .on("threepid_validation_session")
    .column("created_ts")
    .execute();

  await db.schema
    .createTable("threepid_validation_token")
    .addColumn("token_hash", "text", (c) => c.primaryKey())
    .addColumn("session_id", "text", (c) =>
      c.notNull().references("threepid_validation_session.session_id").onDelete("cascade"),
    )
    .addColumn("next_link", "text")
    .addColumn("expires_ts", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("threepid_validation_token_session")
    .on("threepid_validation_token")
    .column("session_id")
    .execute();

  await db.schema
    .createTable("email_outbox")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("recipient", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("text_body", "text", (c) => c.notNull())
    .addColumn("html_body", "text")
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .addColumn("next_attempt_ts", "bigint", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("last_error", "text")
    .execute();
  await db.schema.createIndex("email_outbox_due").on("email_outbox").column("next_attempt_ts").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("email_outbox").execute();
  await db.schema.dropTable("threepid_validation_token").execute();
  await db.schema.dropTable("threepid_validation_session").execute();
}
