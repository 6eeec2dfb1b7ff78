/**
 * The initial `/sync`'s batched reads (src/sync/initial-reads.ts) give the rooms code exactly the answers it would
 * have read room by room: the rooms section built on them equals the one built on the plain stores, for rooms
 * whose timeline changes the state (the state before it must be read back), threads and edits (bundled
 * aggregations), events the reader sent from this device (transaction IDs), rooms with fewer events than a page,
 * a filter that makes the paginator read past the first page, and unread counts after the reader's own messages
 * or read receipts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stores } from "../../src/db/stores.js";
import { currentPosition } from "../../src/sync/stream.js";
import { withInitialReads } from "../../src/sync/initial-reads.js";
import { syncRooms, type RoomsSyncParams } from "../../src/sync/rooms.js";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import { createRoom, ok, registerUser, room, send, startOpenServer, text, type ClientUser } from "../rooms/support.js";

forEachDatabase((kind) => {
  describe("initial /sync reads for all rooms at once", () => {
    let server: TestServer;
    let stores: Stores;
    let alice: ClientUser;
    let bob: ClientUser;
    beforeAll(async () => {
      server = await startOpenServer(kind);
      stores = server.server.accounts.stores;
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      // A room whose name changes inside the last page: the state before the timeline has the old name.
      const renamed = await createRoom(server.url, alice, { preset: "public_chat", name: "Old name" });
      await ok(server.url, bob, "POST", `${room(renamed)}/join`, {});
      for (let i = 0; i < 4; i++) await send(server.url, bob, renamed, text(`before ${i}`));
      await ok(server.url, alice, "PUT", `${room(renamed)}/state/m.room.name/`, { name: "New name" });
      await send(server.url, alice, renamed, text("after the rename"));
      // Unread after Alice's own last message: one that mentions her, one that does not.
      await send(server.url, bob, renamed, text("alice, look"));
      await send(server.url, bob, renamed, text("and this"));
      // Threads and an edit in the last page; Alice's own messages carry their transaction IDs.
      const threaded = await createRoom(server.url, alice, { preset: "public_chat" });
      await ok(server.url, bob, "POST", `${room(threaded)}/join`, {});
      const root = await send(server.url, alice, threaded, text("root"));
      await send(server.url, bob, threaded, {
        ...text("in the thread"),
        "m.relates_to": { rel_type: "m.thread", event_id: root },
      });
      await send(server.url, alice, threaded, {
        ...text("* root, edited"),
        "m.new_content": text("root, edited"),
        "m.relates_to": { rel_type: "m.replace", event_id: root },
      });
      // Read up to Bob's first message by a receipt, not by a message of her own.
      const read = await send(server.url, bob, threaded, text("read this"));
      await send(server.url, bob, threaded, text("not read yet"));
      await ok(server.url, alice, "POST", `${room(threaded)}/receipt/m.read/${encodeURIComponent(read)}`, {});
      // A room with only its creation events.
      await createRoom(server.url, alice, { preset: "private_chat" });
      // A long room, mostly of events a types filter rejects.
      const long = await createRoom(server.url, alice, { preset: "public_chat" });
      for (let i = 0; i < 12; i++) await send(server.url, alice, long, { n: i }, "org.example.noise");
      await send(server.url, alice, long, text("the only message"));
    });
    afterAll(() => server.close());

    const both = async (filter: RoomsSyncParams["filter"], limit: number) => {
      const position = await currentPosition(stores);
      const reader = { userId: alice.userId, deviceId: alice.deviceId };
      const params = { reader, filter, since: null, position, fullState: false, now: 1_000_000_000_000_000 };
      const plain = await syncRooms(stores, params);
      const batched = await syncRooms(await withInitialReads(stores, reader, position, limit), params);
      return { plain, batched };
    };

    it("answers as the room-by-room reads do, with the default timeline", async () => {
      const { plain, batched } = await both({}, 10);
      expect(Object.keys(plain.join)).toHaveLength(4);
      expect(batched).toEqual(plain);
      const events = Object.values(plain.join).flatMap((r) => [...r.timeline.events, ...r.state.events]);
      // The cases are there: a transaction ID, a thread and an edit bundled, unread counts and a highlight.
      const unread = Object.values(plain.join).map((r) => r.unread_notifications);
      expect(unread).toContainEqual({ notification_count: 2, highlight_count: 1 });
      expect(unread).toContainEqual({ notification_count: 1, highlight_count: 0 });
      expect(events.some((e) => e.unsigned?.transaction_id !== undefined)).toBe(true);
      expect(
        events.some((e) => (e.unsigned?.["m.relations"] as Record<string, unknown> | undefined)?.["m.thread"]),
      ).toBe(true);
      expect(
        events.some((e) => (e.unsigned?.["m.relations"] as Record<string, unknown> | undefined)?.["m.replace"]),
      ).toBe(true);
    });

    it("answers as they do with a short timeline (the state before it read back) and a types filter", async () => {
      const short = await both({ room: { timeline: { limit: 4 } } }, 4);
      expect(short.batched).toEqual(short.plain);
      const names = Object.values(short.plain.join).flatMap((r) =>
        r.state.events.filter((e) => e.type === "m.room.name").map((e) => e.content.name),
      );
      expect(names).toContain("Old name");
      const typed = await both({ room: { timeline: { limit: 3, types: ["m.room.message"] } } }, 3);
      expect(typed.batched).toEqual(typed.plain);
    });
  });
});
