/**
 * @module The `email_outbox` table: mails waiting to be sent (migration 0028). Rows are written in the transaction
 * of the request that causes them and deleted once sent or given up on.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface OutboxMail {
  id: string;
  recipient: string;
  subject: string;
  text: string;
  html: string | null;
  createdTs: number;
  nextAttemptTs: number;
  attempts: number;
}

export interface EmailOutboxStore {
  add(mail: Omit<OutboxMail, "attempts">): Promise<void>;
  /** Up to `limit` mails due at `now`, oldest due first. */
  due(now: number, limit: number): Promise<OutboxMail[]>;
  /** A failed attempt: counted, with the next try and the error (never the mail's content). */
  failed(id: string, nextAttemptTs: number, error: string): Promise<void>;
  delete(id: string): Promise<void>;
  count(): Promise<number>;
}

export function emailOutboxStore(db: Kysely<Database>): EmailOutboxStore {
  return {
    async add(m) {
      await db
        .insertInto("email_outbox")
        .values({
          id: m.id,
          recipient: m.recipient,
          subject: m.subject,
          text_body: m.text,
          html_body: m.html,
          created_ts: m.createdTs,
          next_attempt_ts: m.nextAttemptTs,
          last_error: null,
        })
        .execute();
    },
    async due(now, limit) {
      const rows = await db
        .selectFrom("email_outbox")
        .selectAll()
        .where("next_attempt_ts", "<=", now)
        .orderBy("next_attempt_ts")
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        recipient: r.recipient,
        subject: r.subject,
        text: r.text_body,
        html: r.html_body,
        createdTs: Number(r.created_ts),
        nextAttemptTs: Number(r.next_attempt_ts),
        attempts: Number(r.attempts),
      }));
    },
    async failed(id, nextAttemptTs, error) {
      await db
        .updateTable("email_outbox")
        .set((eb) => ({ attempts: eb("attempts", "+", 1), next_attempt_ts: nextAttemptTs, last_error: error }))
        .where("id", "=", id)
        .execute();
    },
    async delete(id) {
      await db.deleteFrom("email_outbox").where("id", "=", id).execute();
    },
    async count() {
      const r = await db
        .selectFrom("email_outbox")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}
