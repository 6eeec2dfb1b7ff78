/**
 * Migration 0015 on SQLite and PostgreSQL: transaction IDs recorded before it stay those of sends, and afterwards
 * a send and a redaction may use the same one; migrating down keeps the sends.
 */
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { migrate, openDatabase } from "../../src/db/database.js";
import { eventTxnsStore } from "../../src/db/event-txns.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";

forEachDatabase((kind) => {
  describe("migration 0015_event_txn_endpoints", () => {
    it("keeps the transaction IDs sent before it as sends, and lets a redaction reuse one", async () => {
      const db = openDatabase((await createTestDatabase(kind, { empty: true })).config);
      try {
        await migrate(db, "0013_room_admin");
        await sql`INSERT INTO event_txns (user_id, device_id, txn_id, event_id, created_ts)
          VALUES ('@a:x', 'D', 't1', '$sent', 1)`.execute(db.kysely);
        await migrate(db);
        const txns = eventTxnsStore(db.kysely);
        expect(await txns.get("@a:x", "D", "send", "t1")).toBe("$sent");
        expect(await txns.get("@a:x", "D", "redact", "t1")).toBeNull();
        await txns.insert("@a:x", "D", "redact", "t1", "$redaction", 2);
        expect(await txns.get("@a:x", "D", "redact", "t1")).toBe("$redaction");
        expect(await txns.forEvents("@a:x", "D", ["$sent", "$redaction"])).toEqual(
          new Map([
            ["$sent", "t1"],
            ["$redaction", "t1"],
          ]),
        );
        await migrate(db, "0013_room_admin");
        const rows = await sql<{ event_id: string }>`SELECT event_id FROM event_txns`.execute(db.kysely);
        expect(rows.rows.map((r) => r.event_id)).toEqual(["$sent"]);
      } finally {
        await db.close();
      }
    });
  });
});
