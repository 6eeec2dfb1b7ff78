/**
 * @module Push (spec "Push Notifications"): a user's own push rules, their changes to the server-default rules,
 * the notifying events per user (unread counts), and the pushers clients register.
 *
 * - `push_rules`: the user's rules of one kind, ordered by `priority` (highest first, as Synapse); `conditions`
 *   (override, underride) or `pattern` (content) as the client sent them; room and sender rules need neither.
 * - `push_rule_defaults`: `enabled` and `actions` a user set on a server-default rule (`.m.rule.*`); null keeps
 *   the default.
 * - `event_push_actions`: one row per (user, event) whose rules said `notify`, with `highlight` and the thread
 *   (`main` outside a thread); counting those after the user's read position gives `unread_notifications`.
 * - `pushers`: one per (app_id, pushkey, user), with the device that set it.
 * - `events_room_sender`: the latest event a user sent in a room (their implied read position) in one index step.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("push_rules")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("rule_id", "text", (c) => c.notNull())
    .addColumn("priority", "integer", (c) => c.notNull())
    .addColumn("conditions", "text")
    .addColumn("pattern", "text")
    .addColumn("actions", "text", (c) => c.notNull())
    .addColumn("enabled", "integer", (c) => c.notNull().defaultTo(1))
    .addPrimaryKeyConstraint("push_rules_pk", ["user_id", "kind", "rule_id"])
    .execute();
  await db.schema
    .createTable("push_rule_defaults")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("rule_id", "text", (c) => c.notNull())
    .addColumn("enabled", "integer")
    .addColumn("actions", "text")
    .addPrimaryKeyConstraint("push_rule_defaults_pk", ["user_id", "rule_id"])
    .execute();
  await db.schema
    .createTable("event_push_actions")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("room_id", "text", (c) => c.notNull())
    .addColumn("stream_ordering", "bigint", (c) => c.notNull())
    .addColumn("thread_id", "text", (c) => c.notNull())
    .addColumn("highlight", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("event_push_actions_pk", ["user_id", "room_id", "stream_ordering"])
    .execute();
  await db.schema
    .createIndex("event_push_actions_room")
    .on("event_push_actions")
    .columns(["room_id", "stream_ordering"])
    .execute();
  await db.schema
    .createTable("pushers")
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("app_id", "text", (c) => c.notNull())
    .addColumn("pushkey", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("app_display_name", "text", (c) => c.notNull())
    .addColumn("device_display_name", "text", (c) => c.notNull())
    .addColumn("profile_tag", "text")
    .addColumn("lang", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .addColumn("device_id", "text")
    .addColumn("created_ts", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("pushers_pk", ["app_id", "pushkey", "user_id"])
    .execute();
  await db.schema.createIndex("pushers_user").on("pushers").column("user_id").execute();
  await db.schema
    .createIndex("events_room_sender")
    .on("events")
    .columns(["room_id", "sender", "stream_ordering"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("events_room_sender").execute();
  for (const table of ["pushers", "event_push_actions", "push_rule_defaults", "push_rules"]) {
    await db.schema.dropTable(table).execute();
  }
}
