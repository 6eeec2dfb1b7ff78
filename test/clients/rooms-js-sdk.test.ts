/**
 * Rooms with real clients, through the validating proxy (every response checked against the spec): two
 * matrix-js-sdk clients started as Element starts them (Rust crypto, their own sync loops) create a room, invite,
 * join, talk, search the talk on the server, rename the room, set its topic, redact, make a DM the way Element and
 * Cinny make one, and leave; a matrix-nio bot joins and answers. Each change is made by one client and awaited at
 * the other through its /sync. The steps build on each other, in order, on one server per database.
 */
import {
  Direction,
  EventTimeline,
  EventType,
  KnownMembership,
  MatrixError,
  MsgType,
  Preset,
  RelationType,
  RoomEvent,
  type MatrixClient,
  type Room,
} from "matrix-js-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPEN_REGISTRATION } from "../api/client-support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { ensureNio, runNioScript } from "./nio.js";
import {
  anonymous,
  bodies,
  loggedIn,
  nextTimelineEvent,
  PASSWORD,
  signUp,
  startElementLike,
  startSyncing,
  until,
} from "./sdk-support.js";
import { CLIENT_TEST_TIMEOUT, expectNoSpecMismatches, startProxiedServer, type ProxiedServer } from "./support.js";

/** A room's current state as the SDK holds it (the live timeline's end). */
const stateOf = (room: Room | null | undefined) => room?.getLiveTimeline().getState(EventTimeline.FORWARDS);

const isText = (body: string) => (e: { getType(): string; getContent(): Record<string, unknown> }) =>
  e.getType() === "m.room.message" && e.getContent().body === body;

beforeAll(ensureNio, 600_000);

forEachDatabase((kind) => {
  describe("rooms with matrix-js-sdk and matrix-nio", () => {
    let hs: ProxiedServer;
    let alice: MatrixClient;
    let bob: MatrixClient;
    let roomId: string;
    const aliceId = "@alice:localhost";
    const bobId = "@bob:localhost";

    beforeAll(async () => {
      hs = await startProxiedServer(kind, OPEN_REGISTRATION);
      [alice, bob] = await Promise.all([startElementLike(hs.url, "alice"), startElementLike(hs.url, "bob")]);
    }, CLIENT_TEST_TIMEOUT);
    afterAll(async () => {
      (alice as MatrixClient | undefined)?.stopClient();
      (bob as MatrixClient | undefined)?.stopClient();
      await (hs as ProxiedServer | undefined)?.close();
    }, CLIENT_TEST_TIMEOUT);

    it(
      "creates a room, invites, and the invitee joins; each side sees the other's change through /sync",
      async () => {
        const created = await alice.createRoom({ name: "Lobby", preset: Preset.PrivateChat });
        roomId = created.room_id;
        const room = await until(alice, "the new room", () => alice.getRoom(roomId));
        await until(alice, "alice joined", () => room.getMyMembership() === "join");
        expect(room.name).toBe("Lobby");

        const invited = until(bob, "the invite", () => bob.getRoom(roomId)?.getMyMembership() === "invite");
        await alice.invite(roomId, bobId);
        await invited;
        const bobsRoom = bob.getRoom(roomId)!;
        // The invite's stripped state names the room and the inviter.
        expect(bobsRoom.name).toBe("Lobby");
        expect(bobsRoom.getMember(bobId)?.events.member?.getSender()).toBe(aliceId);

        const joined = nextTimelineEvent(
          alice,
          roomId,
          "bob's join",
          (e) => e.getType() === "m.room.member" && e.getStateKey() === bobId && e.getContent().membership === "join",
        );
        await bob.joinRoom(roomId);
        await joined;
        expect(
          room
            .getJoinedMembers()
            .map((m) => m.userId)
            .sort(),
        ).toEqual([aliceId, bobId]);
        await until(bob, "bob joined", () => bob.getRoom(roomId)?.getMyMembership() === "join");
        expect(bob.getRoom(roomId)!.getJoinedMemberCount()).toBe(2);
        // With lazy-loaded members the SDK fetches the member list itself, at its sync token (/members?at=).
        const members = hs.proxy.count("GET", /\/rooms\/[^/]+\/members$/);
        expect(await bob.getRoom(roomId)!.loadMembersIfNeeded()).toBe(true);
        expect(hs.proxy.count("GET", /\/rooms\/[^/]+\/members$/)).toBe(members + 1);
        expect(
          bob
            .getRoom(roomId)!
            .getMembers()
            .map((m) => `${m.userId} ${m.membership}`)
            .sort(),
        ).toEqual([`${aliceId} join`, `${bobId} join`]);
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "exchanges messages: each arrives at the other, and the sender's local echo is replaced, not doubled",
      async () => {
        const atBob = nextTimelineEvent(bob, roomId, "alice's hello", isText("hello bob"));
        const sent = await alice.sendTextMessage(roomId, "hello bob");
        const hello = await atBob;
        expect(hello.getId()).toBe(sent.event_id);
        expect(hello.getSender()).toBe(aliceId);

        const atAlice = nextTimelineEvent(alice, roomId, "bob's answer", isText("hi alice"));
        const answer = await bob.sendTextMessage(roomId, "hi alice");
        expect((await atAlice).getId()).toBe(answer.event_id);

        // The remote echo of alice's own message carried her transaction ID, so the SDK matched it to the local
        // echo: one event with the server's ID, nothing left pending.
        await until(alice, "alice's echo", () => alice.getRoom(roomId)!.findEventById(sent.event_id));
        const mine = alice
          .getRoom(roomId)!
          .getLiveTimeline()
          .getEvents()
          .filter((e) => e.getContent().body === "hello bob");
        expect(mine.map((e) => e.getId())).toEqual([sent.event_id]);
        expect(mine[0]!.status).toBeNull();
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "finds the messages with server-side search, as Element's room search asks for them",
      async () => {
        const found = await bob.searchRoomEvents({ term: "hello", filter: { rooms: [roomId] } });
        expect(found.results.map((r) => String(r.context.getEvent().getContent().body))).toEqual(["hello bob"]);
        expect(found.highlights).toContain("hello");
        // Element asks for one event of context on each side, with profiles: bob's answer follows.
        const after = found.results[0]!.context.getTimeline().map((e) => String(e.getContent().body));
        expect(after).toContain("hi alice");
        expect((await bob.searchRoomEvents({ term: "nothing-like-this" })).results).toEqual([]);
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "renames the room, refuses bob the topic until alice raises his power level, then takes his topic",
      async () => {
        const named = until(bob, "the new name", () => bob.getRoom(roomId)?.name === "Lobby (renamed)");
        await alice.setRoomName(roomId, "Lobby (renamed)");
        await named;

        // private_chat leaves state changes to the room's creator: the SDK gets the spec's 403.
        const refused = await bob.setRoomTopic(roomId, "bob's topic").then(
          () => null,
          (e: unknown) => e as MatrixError,
        );
        expect(refused).toBeInstanceOf(MatrixError);
        expect([refused?.httpStatus, refused?.errcode]).toEqual([403, "M_FORBIDDEN"]);

        const promoted = until(
          bob,
          "bob's new power level",
          () => bob.getRoom(roomId)?.getMember(bobId)?.powerLevel === 50,
        );
        await alice.setPowerLevel(roomId, bobId, 50);
        await promoted;

        const topic = until(
          alice,
          "bob's topic",
          () =>
            stateOf(alice.getRoom(roomId))?.getStateEvents(EventType.RoomTopic, "")?.getContent().topic ===
            "Where everyone meets",
        );
        await bob.setRoomTopic(roomId, "Where everyone meets");
        await topic;
        expect(stateOf(alice.getRoom(roomId))!.getStateEvents(EventType.RoomTopic, "")?.getSender()).toBe(bobId);
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "edits and reacts: the SDK ties the edit and the reaction to the message they relate to",
      async () => {
        const atBob = nextTimelineEvent(bob, roomId, "the message to edit", isText("see you at 3"));
        const { event_id: original } = await alice.sendTextMessage(roomId, "see you at 3");
        await atBob;

        const edited = until(
          bob,
          "the edit applied",
          () => bob.getRoom(roomId)?.findEventById(original)?.getContent().body === "see you at 4",
        );
        const { event_id: edit } = await alice.sendMessage(roomId, {
          msgtype: MsgType.Text,
          body: "* see you at 4",
          "m.new_content": { msgtype: MsgType.Text, body: "see you at 4" },
          "m.relates_to": { rel_type: RelationType.Replace, event_id: original },
        });
        await edited;
        expect(bob.getRoom(roomId)!.findEventById(original)!.replacingEventId()).toBe(edit);

        const reacted = nextTimelineEvent(alice, roomId, "bob's reaction", (e) => e.getType() === "m.reaction");
        await bob.sendEvent(roomId, EventType.Reaction, {
          "m.relates_to": { rel_type: RelationType.Annotation, event_id: original, key: "👍" },
        });
        const reaction = await reacted;
        expect(reaction.getRelation()).toEqual({ rel_type: "m.annotation", event_id: original, key: "👍" });
        const annotations = alice
          .getRoom(roomId)!
          .getUnfilteredTimelineSet()
          .relations.getChildEventsForEvent(original, RelationType.Annotation, EventType.Reaction);
        expect(annotations?.getSortedAnnotationsByKey()?.map(([key, events]) => [key, events.size])).toEqual([
          ["👍", 1],
        ]);
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "redacts a message: bob's SDK marks it redacted, with the redaction as the reason",
      async () => {
        const atBob = nextTimelineEvent(bob, roomId, "the message to redact", isText("oops, wrong room"));
        const { event_id: oops } = await alice.sendTextMessage(roomId, "oops, wrong room");
        await atBob;

        const redacted = new Promise<void>((resolve) => {
          const listener = (event: { getAssociatedId(): string | undefined }) => {
            if (event.getAssociatedId() !== oops) return;
            bob.off(RoomEvent.Redaction, listener);
            resolve();
          };
          bob.on(RoomEvent.Redaction, listener);
        });
        const { event_id: redaction } = await alice.redactEvent(roomId, oops, undefined, { reason: "typo" });
        await redacted;
        const atBobNow = bob.getRoom(roomId)!.findEventById(oops)!;
        expect(atBobNow.isRedacted()).toBe(true);
        expect(atBobNow.getContent()).toEqual({});
        expect(atBobNow.getUnsigned().redacted_because?.event_id).toBe(redaction);
        // Fetched afresh, the event is pruned on the server too.
        const fetched = await bob.fetchRoomEvent(roomId, oops);
        expect(fetched.content).toEqual({});
        // Room version 11 keeps `redacts` in the content as well as at the top level.
        expect(fetched.unsigned?.redacted_because?.content).toEqual({ reason: "typo", redacts: oops });
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "a matrix-nio bot joins the room and answers a message; alice's SDK sees the answer",
      async () => {
        const nioUser = await signUp(hs.url, "nio_bot", PASSWORD);
        const invited = nextTimelineEvent(
          bob,
          roomId,
          "the bot's invite",
          (e) => e.getStateKey() === nioUser.user_id && e.getContent().membership === "invite",
        );
        await alice.invite(roomId, nioUser.user_id);
        await invited;
        const here = nextTimelineEvent(alice, roomId, "the bot's arrival", isText("nio_bot is here"));
        const bot = runNioScript("nio_room.py", [hs.url, "nio_bot", PASSWORD, roomId]);
        await here.catch(async (e: unknown) => {
          const run = await bot;
          throw new Error(`${String(e)}\nnio: ${run.stdout}\n${run.stderr}`);
        });
        const answer = nextTimelineEvent(alice, roomId, "the bot's answer", isText("pong: ping nio_bot"));
        await alice.sendTextMessage(roomId, "ping nio_bot");
        const run = await bot;
        const why = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
        expect(run.result?.ok, why).toBe(true);
        expect((await answer).getSender()).toBe(nioUser.user_id);
        expect(run.result!.steps.heard).toMatchObject({ sender: aliceId, body: "ping nio_bot" });
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "makes a DM as Element and Cinny do: trusted_private_chat, is_direct, m.direct; bob sees a direct invite",
      async () => {
        const invited = until(bob, "the DM invite", () => {
          const dm = bob.getRooms().find((r) => r.getMyMembership() === "invite" && r.roomId !== roomId);
          return dm?.getDMInviter() === aliceId ? dm : undefined;
        });
        const { room_id: dmId } = await alice.createRoom({
          preset: Preset.TrustedPrivateChat,
          is_direct: true,
          invite: [bobId],
          initial_state: [
            { type: EventType.RoomEncryption, state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } },
          ],
        });
        const direct = until(
          alice,
          "m.direct",
          () => alice.getAccountData(EventType.Direct)?.getContent<Record<string, string[]>>()[bobId],
        );
        await alice.setAccountData(EventType.Direct, { [bobId]: [dmId] });
        expect(await direct).toEqual([dmId]);

        const dm = await invited;
        expect(dm.roomId).toBe(dmId);
        expect(dm.getMember(bobId)?.events.member?.getContent().is_direct).toBe(true);
        // No name: the SDK names an invite after the inviter, from the stripped state.
        expect(dm.name).toBe("alice");

        // Bob accepts and records it as his DM too, as Element does on join.
        await bob.joinRoom(dmId);
        await bob.setAccountData(EventType.Direct, { [aliceId]: [dmId] });
        const joined = await until(alice, "bob in the DM", () => {
          const r = alice.getRoom(dmId);
          return r?.getMember(bobId)?.membership === "join" ? r : undefined;
        });
        // trusted_private_chat: both are admins, and the room is encrypted.
        expect(stateOf(joined)!.getStateEvents(EventType.RoomPowerLevels, "")?.getContent().users).toMatchObject({
          [aliceId]: 100,
          [bobId]: 100,
        });
        expect(await alice.getCrypto()!.isEncryptionEnabledInRoom(dmId)).toBe(true);
        // With lazy-loaded members the SDK names the DM after the summary's heroes, each side after the other.
        expect(joined.name).toBe("bob");
        expect(await until(bob, "the DM's name", () => bob.getRoom(dmId)?.name === "alice")).toBe(true);
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "a second device of alice's catches up through an initial sync: name, topic, messages, the redaction",
      async () => {
        const login = await anonymous(hs.url).loginRequest({
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "alice" },
          password: PASSWORD,
        });
        const laptop = loggedIn(hs.url, login);
        try {
          await startSyncing(laptop);
          const room = laptop.getRoom(roomId)!;
          expect(room.getMyMembership()).toBe(KnownMembership.Join);
          expect(room.name).toBe("Lobby (renamed)");
          expect(stateOf(room)!.getStateEvents(EventType.RoomTopic, "")?.getContent().topic).toBe(
            "Where everyone meets",
          );
          expect(bodies(laptop, roomId)).toEqual([
            "hello bob",
            "hi alice",
            "see you at 4",
            "* see you at 4",
            "nio_bot is here",
            "ping nio_bot",
            "pong: ping nio_bot",
          ]);
          const redacted = room
            .getLiveTimeline()
            .getEvents()
            .filter((e) => e.isRedacted());
          expect(redacted.map((e) => e.getContent())).toEqual([{}]);
          expect(laptop.getAccountData(EventType.Direct)?.getContent()).toEqual({ [bobId]: [expect.any(String)] });
        } finally {
          laptop.stopClient();
        }
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "pages back through /messages: a device that starts with a 2-event timeline scrolls back to the room's creation",
      async () => {
        const login = await anonymous(hs.url).loginRequest({
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "alice" },
          password: PASSWORD,
        });
        const phone = loggedIn(hs.url, login);
        try {
          await startSyncing(phone, 2);
          const room = phone.getRoom(roomId)!;
          const timeline = room.getLiveTimeline();
          expect(timeline.getEvents()).toHaveLength(2);
          expect(timeline.getPaginationToken(EventTimeline.BACKWARDS)).not.toBeNull();

          // Element's scrollback: /messages?dir=b from the sync's prev_batch, page after page, until the create event.
          const pages = () => hs.proxy.count("GET", /\/rooms\/[^/]+\/messages$/);
          const before = pages();
          while (timeline.getEvents()[0]?.getType() !== "m.room.create") {
            expect(pages() - before, "pages needed to reach the start").toBeLessThan(20);
            await phone.scrollback(room, 5);
          }
          expect(pages() - before).toBeGreaterThan(1);
          expect(bodies(phone, roomId)).toEqual([
            "hello bob",
            "hi alice",
            "see you at 4",
            "* see you at 4",
            "nio_bot is here",
            "ping nio_bot",
            "pong: ping nio_bot",
          ]);
          // Nothing twice, nothing out of order: the same events, in the same order, as one /messages page.
          const whole = await phone.createMessagesRequest(roomId, null, 100, Direction.Backward);
          expect(timeline.getEvents().map((e) => e.getId())).toEqual(whole.chunk.map((e) => e.event_id).reverse());
          // A page's `end` is a place in the room: paging forward from it gives that page's events back, oldest first.
          const newest = await phone.createMessagesRequest(roomId, null, 5, Direction.Backward);
          const forward = await phone.createMessagesRequest(roomId, newest.end!, 3, Direction.Forward);
          expect(forward.chunk.map((e) => e.event_id)).toEqual(
            newest.chunk
              .slice(2)
              .reverse()
              .map((e) => e.event_id),
          );
        } finally {
          phone.stopClient();
        }
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "bob leaves and forgets the room, and reads nothing said after; the bot is kicked with a reason",
      async () => {
        const left = nextTimelineEvent(
          alice,
          roomId,
          "bob's leave",
          (e) => e.getType() === "m.room.member" && e.getStateKey() === bobId && e.getContent().membership === "leave",
        );
        await bob.leave(roomId);
        await left;
        await until(bob, "the room left", () => bob.getRoom(roomId)?.getMyMembership() === "leave");
        expect(
          alice
            .getRoom(roomId)!
            .getJoinedMembers()
            .map((m) => m.userId),
        ).not.toContain(bobId);

        // What is said after he left is not his to read; what was said before still is.
        const { event_id: after } = await alice.sendTextMessage(roomId, "said after bob left");
        const hidden = await bob.fetchRoomEvent(roomId, after).then(
          () => null,
          (e: unknown) => e as MatrixError,
        );
        expect([hidden?.httpStatus, hidden?.errcode]).toEqual([404, "M_NOT_FOUND"]);
        const before = alice.getRoom(roomId)!.getLiveTimeline().getEvents().find(isText("hello bob"))!;
        expect((await bob.fetchRoomEvent(roomId, before.getId()!)).content).toMatchObject({ body: "hello bob" });

        // The bot is kicked, with a reason alice's SDK shows.
        const kicked = nextTimelineEvent(
          alice,
          roomId,
          "the bot's kick",
          (e) => e.getStateKey() === "@nio_bot:localhost" && e.getContent().membership === "leave",
        );
        await alice.kick(roomId, "@nio_bot:localhost", "job done");
        const kick = await kicked;
        expect([kick.getSender(), kick.getContent().reason]).toEqual([aliceId, "job done"]);

        // Bob forgets the room; the SDK drops it.
        await bob.forget(roomId, true);
        expect(bob.getRoom(roomId)).toBeNull();
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );
  });
});
