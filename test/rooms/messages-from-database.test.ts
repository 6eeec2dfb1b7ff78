/**
 * `/messages` pages read from the database against the same pages read from the recent-events cache, on both
 * databases. A page read from the database brings each event's transaction ID for the reader's device and whether
 * anything relates to it in the same statement (`TimelineWindow.reader`); the cache's events do not, and the
 * serializer looks both up. Two servers share one database: the first one's cache holds the room (it started before
 * the room was written), the second one started after, so its pages come from the database. Both must answer alike
 * for every reader: the device that sent an event, another device of the same user, and another user.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginAgain, NO_LIMITS } from "../api/sync-support.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import {
  createRoom,
  ok,
  registerUser,
  room,
  send,
  sync,
  text,
  type ClientUser,
  type SyncRoomEvent,
} from "./support.js";

const OPEN = { enable_registration: true, enable_registration_without_verification: true, ...NO_LIMITS };

type Ev = SyncRoomEvent;

interface Messages {
  chunk: Ev[];
  start: string;
  end?: string;
}

/** `value` without any `age`: it is the time since the event, which differs between two reads. */
function withoutAge(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutAge);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => k !== "age")
      .map(([k, v]) => [k, withoutAge(v)]),
  );
}

forEachDatabase((kind) => {
  describe("/messages read from the database and from the cache", () => {
    let cached: TestServer;
    let fresh: TestServer;
    let alice: ClientUser;
    let aliceElsewhere: ClientUser;
    let bob: ClientUser;
    let roomId: string;
    let root: string;
    let edited: string;
    let edit: string;
    let redacted: string;
    const aliceSent: string[] = [];

    beforeAll(async () => {
      const db = await createTestDatabase(kind);
      cached = await startTestServer(db, OPEN);
      alice = await registerUser(cached.url, "alice");
      bob = await registerUser(cached.url, "bob");
      aliceElsewhere = await loginAgain(cached.url, "alice");
      // The first read starts the cache: everything written after it is held.
      await sync(cached.url, alice);
      roomId = await createRoom(cached.url, alice, { preset: "public_chat" });
      await ok(cached.url, bob, "POST", `${room(roomId)}/join`, {});
      root = await send(cached.url, alice, roomId, text("root"));
      aliceSent.push(root);
      for (let i = 0; i < 3; i++) {
        await send(cached.url, bob, roomId, {
          ...text(`reply ${i}`),
          "m.relates_to": { rel_type: "m.thread", event_id: root },
        });
      }
      edited = await send(cached.url, alice, roomId, text("typo"));
      aliceSent.push(edited);
      edit = await send(cached.url, alice, roomId, {
        ...text("* fixed"),
        "m.new_content": text("fixed"),
        "m.relates_to": { rel_type: "m.replace", event_id: edited },
      });
      aliceSent.push(edit);
      for (let i = 0; i < 8; i++) {
        const id = await send(cached.url, i % 2 ? bob : alice, roomId, text(`m${i}`));
        if (i % 2 === 0) aliceSent.push(id);
      }
      redacted = await send(cached.url, alice, roomId, text("oops"));
      await ok(cached.url, alice, "PUT", `${room(roomId)}/redact/${encodeURIComponent(redacted)}/x1`, {});
      await ok(cached.url, alice, "PUT", `${room(roomId)}/state/m.room.topic/`, { topic: "history" });
      fresh = await startTestServer(db, OPEN);
    });
    afterAll(async () => {
      await cached.close();
      await fresh.close();
    });

    /** Every page of the room for `user` from `server`, `limit` events a page, in `dir` from its start. */
    async function allPages(server: TestServer, user: ClientUser, dir: "b" | "f"): Promise<Messages[]> {
      const pages: Messages[] = [];
      let from: string | undefined;
      for (let i = 0; i < 50; i++) {
        const q = `dir=${dir}&limit=5${from ? `&from=${from}` : ""}`;
        const page = await ok<Messages>(server.url, user, "GET", `${room(roomId)}/messages?${q}`);
        pages.push(page);
        if (page.end === undefined) return pages;
        from = page.end;
      }
      throw new Error("paging did not end");
    }

    it("gives every reader the same pages from either", async () => {
      for (const user of [alice, aliceElsewhere, bob]) {
        for (const dir of ["b", "f"] as const) {
          const fromDatabase = await allPages(fresh, user, dir);
          const fromCache = await allPages(cached, user, dir);
          expect(withoutAge(fromDatabase)).toEqual(withoutAge(fromCache));
        }
      }
    });

    it("echoes a transaction ID to the device that sent the event only", async () => {
      const page = (user: ClientUser) =>
        ok<Messages>(fresh.url, user, "GET", `${room(roomId)}/messages?dir=b&limit=50`);
      const txnOf = (p: Messages, id: string) => p.chunk.find((e) => e.event_id === id)?.unsigned?.transaction_id;
      const [own, elsewhere, other] = await Promise.all([page(alice), page(aliceElsewhere), page(bob)]);
      for (const id of aliceSent) {
        expect(txnOf(own, id)).toMatch(/^t\d+$/);
        expect(txnOf(elsewhere, id)).toBeUndefined();
        expect(txnOf(other, id)).toBeUndefined();
      }
      const redaction = own.chunk.find((e) => e.type === "m.room.redaction");
      expect(redaction?.unsigned?.transaction_id).toBe("x1");
      // State events take no transaction ID.
      expect(own.chunk.find((e) => e.type === "m.room.topic")?.unsigned?.transaction_id).toBeUndefined();
    });

    it("bundles the thread and the edit, and nothing for events without children or redacted", async () => {
      const page = await ok<Messages>(fresh.url, bob, "GET", `${room(roomId)}/messages?dir=b&limit=50`);
      const relationsOf = (id: string) =>
        page.chunk.find((e) => e.event_id === id)?.unsigned?.["m.relations"] as Record<string, unknown> | undefined;
      expect(relationsOf(root)?.["m.thread"]).toMatchObject({ count: 3, current_user_participated: true });
      expect((relationsOf(edited)?.["m.replace"] as Ev | undefined)?.event_id).toBe(edit);
      const withRelations = page.chunk.filter((e) => e.unsigned?.["m.relations"] !== undefined);
      expect(withRelations.map((e) => e.event_id).sort()).toEqual([root, edited].sort());
      const gone = page.chunk.find((e) => e.event_id === redacted);
      expect(gone?.content).toEqual({});
      expect(gone?.unsigned?.redacted_because).toBeDefined();
    });
  });
});
