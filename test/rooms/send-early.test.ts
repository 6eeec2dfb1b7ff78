/**
 * A message is read for, checked and signed before its transaction (src/rooms/persist.ts, `EarlyMessage`). When
 * another event lands in the room in between, the message must be built again on the room as it now is: pointing at
 * that event (the DAG never forks) and checked against the state it brought (a ban in between refuses the send).
 * The other event is made at the one moment that matters: while the message's early reads are under way.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoomsContext } from "../../src/rooms/context.js";
import { sendEvent } from "../../src/rooms/persist.js";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import { createRoom, ok, registerUser, room, send, startOpenServer, text, type ClientUser } from "./support.js";

/** `ctx` whose next read of a room's members outside a transaction first runs `between` to its end. */
function withWriteBetween(ctx: RoomsContext, between: () => Promise<void>): { ctx: RoomsContext; ran: () => boolean } {
  const { stores } = ctx;
  let ran = false;
  const members: typeof stores.roomMemberships.members = async (...args) => {
    if (!ran) {
      ran = true;
      await between();
    }
    return stores.roomMemberships.members(...args);
  };
  return {
    ctx: { ...ctx, stores: { ...stores, roomMemberships: { ...stores.roomMemberships, members } } },
    ran: () => ran,
  };
}

forEachDatabase((kind) => {
  describe(`a message built before its transaction (${kind})`, () => {
    let server: TestServer;
    let alice: ClientUser;
    let bob: ClientUser;
    let roomId: string;

    beforeAll(async () => {
      server = await startOpenServer(kind);
      alice = await registerUser(server.url, "alice");
      bob = await registerUser(server.url, "bob");
      roomId = await createRoom(server.url, alice, { preset: "public_chat" });
      await ok(server.url, bob, "POST", `/join/${encodeURIComponent(roomId)}`, {});
    });
    afterAll(() => server.close());

    const draft = (body: string) => ({ roomId, type: "m.room.message", sender: bob.userId, content: text(body) });

    it("points at the event that landed while it was being built", async () => {
      let between = "";
      const hooked = withWriteBetween(server.server.rooms, async () => {
        between = await send(server.url, alice, roomId, text("in between"));
      });
      const eventId = await sendEvent(hooked.ctx, draft("after it"));
      expect(hooked.ran()).toBe(true);

      const { events } = server.server.rooms.stores;
      const [mine, theirs] = [await events.get(eventId), await events.get(between)];
      expect(mine!.pdu.prev_events).toEqual([between]);
      expect(mine!.depth).toBe(theirs!.depth + 1);
      expect(mine!.streamOrdering).toBeGreaterThan(theirs!.streamOrdering);
    });

    it("is refused when its sender was banned while it was being built", async () => {
      const hooked = withWriteBetween(server.server.rooms, async () => {
        await ok(server.url, alice, "POST", `${room(roomId)}/ban`, { user_id: bob.userId });
      });
      await expect(sendEvent(hooked.ctx, draft("too late"))).rejects.toMatchObject({ errcode: "M_FORBIDDEN" });
      expect(hooked.ran()).toBe(true);

      const latest = await server.server.rooms.stores.events.latest(roomId);
      const newest = await server.server.rooms.stores.events.get(latest!.eventId);
      expect(newest!.type).toBe("m.room.member");
      expect(newest!.stateKey).toBe(bob.userId);
    });
  });
});
