/**
 * The reads device lists are computed from, on SQLite and PostgreSQL: device changes and membership events by
 * stream position, and who shares a room with whom (joined for the wake-ups, joined or invited for `/keys/query`).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/database.js";
import type { Membership } from "../../src/db/room-memberships.js";
import type { Stores } from "../../src/db/stores.js";
import { openAndMigrate } from "../../src/server.js";
import { createTestDatabase, forEachDatabase } from "../helpers/databases.js";

forEachDatabase((kind) => {
  let db: Db;
  let stores: Stores;

  beforeEach(async () => {
    ({ db, stores } = await openAndMigrate({ database: (await createTestDatabase(kind)).config }));
  });
  afterEach(async () => {
    await db.close();
  });

  let position = 0;
  async function member(roomId: string, userId: string, membership: Membership): Promise<number> {
    const at = ++position;
    const eventId = `$m${at}`;
    await stores.events.insert({
      streamOrdering: at,
      eventId,
      roomId,
      type: "m.room.member",
      stateKey: userId,
      sender: userId,
      originServerTs: at,
      depth: at,
      pdu: { content: { membership } },
      relatesTo: null,
      relType: null,
    });
    await stores.roomMemberships.put(roomId, userId, membership, eventId, at);
    return at;
  }

  describe("device list reads", () => {
    it("changedBetween: every user with a change in (after, upTo], once each", async () => {
      await stores.deviceListChanges.insert(3, "@a:x", ["A1", "A2"]);
      await stores.deviceListChanges.insert(5, "@b:x", ["B1"]);
      await stores.deviceListChanges.insert(7, "@a:x", ["A3"]);
      expect(await stores.deviceListChanges.changedBetween(0, 10)).toEqual(["@a:x", "@b:x"]);
      expect(await stores.deviceListChanges.changedBetween(3, 5)).toEqual(["@b:x"]);
      expect(await stores.deviceListChanges.changedBetween(7, 10)).toEqual([]);
    });

    it("membersBetween: the member events of every room in the stretch, oldest first, nothing else", async () => {
      const p1 = await member("!r1:x", "@a:x", "join");
      await stores.events.insert({
        streamOrdering: ++position,
        eventId: "$msg",
        roomId: "!r1:x",
        type: "m.room.message",
        stateKey: null,
        sender: "@a:x",
        originServerTs: position,
        depth: position,
        pdu: { content: { body: "hi" } },
        relatesTo: null,
        relType: null,
      });
      const p3 = await member("!r2:x", "@b:x", "invite");
      const got = await stores.events.membersBetween(p1 - 1, p3);
      expect(got.map((e) => [e.roomId, e.stateKey])).toEqual([
        ["!r1:x", "@a:x"],
        ["!r2:x", "@b:x"],
      ]);
      expect((await stores.events.membersBetween(p1, p3)).map((e) => e.eventId)).toEqual([`$m${p3}`]);
    });

    it("joinedCoMembers and meetingInARoom: who shares a room with whom", async () => {
      await member("!r1:x", "@a:x", "join");
      await member("!r1:x", "@b:x", "join");
      await member("!r1:x", "@c:x", "invite");
      await member("!r2:x", "@a:x", "invite");
      await member("!r2:x", "@d:x", "join");
      await member("!r3:x", "@a:x", "leave");
      await member("!r3:x", "@e:x", "join");
      expect((await stores.roomMemberships.joinedCoMembers("@a:x")).sort()).toEqual(["@b:x"]);
      expect(await stores.roomMemberships.joinedCoMembers("@c:x")).toEqual([]);
      const met = await stores.roomMemberships.meetingInARoom("@a:x", ["@a:x", "@b:x", "@c:x", "@d:x", "@e:x"]);
      expect([...met].sort()).toEqual(["@b:x", "@c:x", "@d:x"]);
    });
  });
});
