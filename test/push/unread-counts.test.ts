/**
 * Unread counts in `/sync` over real HTTP on both databases: Bob's count rises when Alice sends, highlights for a
 * mention of his display name, his user ID in `m.mentions` and `@room`, nothing for notices or his own messages,
 * counts per thread when the filter asks, his own rules applied, redacted events dropped, and the counts reset when
 * his read position moves (today: when he sends); in a room of several, each member's outcome of the same event is
 * their own (names, mentions, own rules), and a new display name is the one that highlights from the next event.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import type { TestServer } from "../helpers/server.js";
import { createRoom, ok, registerUser, room, send, startOpenServer, text, type ClientUser } from "../rooms/support.js";

interface Counts {
  notification_count: number;
  highlight_count: number;
}
interface CountsSync {
  next_batch: string;
  rooms: {
    join: Record<string, { unread_notifications: Counts; unread_thread_notifications?: Record<string, Counts> }>;
  };
}

const THREADED = encodeURIComponent(JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } }));

forEachDatabase((kind) => {
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
    await ok(server.url, bob, "PUT", `${room(roomId)}/state/m.room.member/${encodeURIComponent(bob.userId)}`, {
      membership: "join",
      displayname: "Robert Smith",
    });
  });
  afterAll(() => server.close());

  const syncOf = (user: ClientUser, query = "") => ok<CountsSync>(server.url, user, "GET", `/sync${query}`);
  const counts = async (user = bob) => (await syncOf(user)).rooms.join[roomId]!.unread_notifications;

  it("starts at zero for both, and the sender's own messages never count for them", async () => {
    expect(await counts()).toEqual({ notification_count: 0, highlight_count: 0 });
    await send(server.url, alice, roomId, text("good morning"));
    expect(await counts(alice)).toEqual({ notification_count: 0, highlight_count: 0 });
  });

  it("rises for Bob with each message of Alice's, also in an incremental sync; notices do not count", async () => {
    const before = await syncOf(bob);
    expect(before.rooms.join[roomId]!.unread_notifications).toEqual({ notification_count: 1, highlight_count: 0 });
    await send(server.url, alice, roomId, text("how are you"));
    await send(server.url, alice, roomId, { msgtype: "m.notice", body: "a bot speaking" });
    const next = await syncOf(bob, `?since=${before.next_batch}`);
    expect(next.rooms.join[roomId]!.unread_notifications).toEqual({ notification_count: 2, highlight_count: 0 });
  });

  it("highlights a mention of his display name, of his user name, of @room by the room's admin, and m.mentions", async () => {
    await send(server.url, alice, roomId, text("robert smith, lunch?"));
    expect(await counts()).toEqual({ notification_count: 3, highlight_count: 1 });
    await send(server.url, alice, roomId, text("bob: ping"));
    expect(await counts()).toEqual({ notification_count: 4, highlight_count: 2 });
    await send(server.url, alice, roomId, text("@room meeting now"));
    expect(await counts()).toEqual({ notification_count: 5, highlight_count: 3 });
    await send(server.url, alice, roomId, { ...text("hi"), "m.mentions": { user_ids: [bob.userId] } });
    expect(await counts()).toEqual({ notification_count: 6, highlight_count: 4 });
    // With m.mentions present, the legacy body rules no longer apply: his name in the body is no mention.
    await send(server.url, alice, roomId, { ...text("Robert Smith and bob"), "m.mentions": {} });
    expect(await counts()).toEqual({ notification_count: 7, highlight_count: 4 });
  });

  it("resets when Bob's read position moves (his own message)", async () => {
    await send(server.url, bob, roomId, text("I'm here"));
    expect(await counts()).toEqual({ notification_count: 0, highlight_count: 0 });
    expect(await counts(alice)).toEqual({ notification_count: 1, highlight_count: 0 });
  });

  it("counts threads apart when the filter asks, and all together when it does not", async () => {
    const root = await send(server.url, alice, roomId, text("thread root"));
    const inThread = { ...text("in the thread"), "m.relates_to": { rel_type: "m.thread", event_id: root } };
    await send(server.url, alice, roomId, inThread);
    await send(server.url, alice, roomId, { ...inThread, body: "bob, in the thread" });
    const threaded = (await syncOf(bob, `?filter=${THREADED}`)).rooms.join[roomId]!;
    expect(threaded.unread_notifications).toEqual({ notification_count: 1, highlight_count: 0 });
    expect(threaded.unread_thread_notifications).toEqual({ [root]: { notification_count: 2, highlight_count: 1 } });
    const flat = (await syncOf(bob)).rooms.join[roomId]!;
    expect(flat.unread_notifications).toEqual({ notification_count: 3, highlight_count: 1 });
    expect(flat.unread_thread_notifications).toBeUndefined();
    await send(server.url, bob, roomId, text("read it all"));
    const after = (await syncOf(bob, `?filter=${THREADED}`)).rooms.join[roomId]!;
    expect(after.unread_notifications).toEqual({ notification_count: 0, highlight_count: 0 });
    expect(after.unread_thread_notifications).toBeUndefined();
  });

  it("a redacted event no longer counts", async () => {
    const eventId = await send(server.url, alice, roomId, text("bob, look"));
    await send(server.url, alice, roomId, text("and this"));
    expect(await counts()).toEqual({ notification_count: 2, highlight_count: 1 });
    await ok(server.url, alice, "PUT", `${room(roomId)}/redact/${encodeURIComponent(eventId)}/r1`, {});
    expect(await counts()).toEqual({ notification_count: 1, highlight_count: 0 });
    await send(server.url, bob, roomId, text("seen"));
  });

  it("follows Bob's own rules: a disabled default, a muted room and a content keyword", async () => {
    await ok(server.url, bob, "PUT", "/pushrules/global/underride/.m.rule.room_one_to_one/enabled", { enabled: false });
    await ok(server.url, bob, "PUT", "/pushrules/global/underride/.m.rule.message/enabled", { enabled: false });
    await send(server.url, alice, roomId, text("quiet now"));
    expect(await counts()).toEqual({ notification_count: 0, highlight_count: 0 });
    await ok(server.url, bob, "PUT", "/pushrules/global/content/cake", {
      pattern: "cake",
      actions: ["notify", { set_tweak: "highlight" }],
    });
    await send(server.url, alice, roomId, text("there is cake!"));
    await send(server.url, alice, roomId, text("pancakes are no cake-less thing"));
    expect(await counts()).toEqual({ notification_count: 2, highlight_count: 2 });
    await ok(server.url, bob, "PUT", `/pushrules/global/room/${encodeURIComponent(roomId)}`, { actions: [] });
    await ok(server.url, bob, "PUT", "/pushrules/global/override/.m.rule.master/enabled", { enabled: false });
    await send(server.url, alice, roomId, text("bob, more cake"));
    // Content rules run before room rules: the keyword still notifies; the name mention is an override.
    expect(await counts()).toEqual({ notification_count: 3, highlight_count: 3 });
    await ok(server.url, bob, "PUT", "/pushrules/global/override/.m.rule.master/enabled", { enabled: true });
    await send(server.url, alice, roomId, text("bob, even more cake"));
    expect(await counts()).toEqual({ notification_count: 3, highlight_count: 3 });
  });

  it("in a room of several, each member gets their own outcome of one event, and a new display name counts at once", async () => {
    const many = await createRoom(server.url, alice, { preset: "public_chat" });
    const [carol, dave, erin] = await Promise.all(["carol", "dave", "erin"].map((n) => registerUser(server.url, n)));
    for (const u of [bob, carol!, dave!, erin!]) {
      await ok(server.url, u, "POST", `/join/${encodeURIComponent(many)}`, {});
    }
    const setName = (displayname: string) =>
      ok(server.url, carol!, "PUT", `${room(many)}/state/m.room.member/${encodeURIComponent(carol!.userId)}`, {
        membership: "join",
        displayname,
      });
    await setName("Cee Clark");
    const countsIn = async (user: ClientUser) => (await syncOf(user)).rooms.join[many]!.unread_notifications;
    await send(server.url, alice, many, text("hello all"));
    await send(server.url, alice, many, text("cee clark, a word?"));
    await send(server.url, alice, many, { ...text("over to you"), "m.mentions": { user_ids: [dave!.userId] } });
    expect(await countsIn(carol!)).toEqual({ notification_count: 3, highlight_count: 1 });
    expect(await countsIn(dave!)).toEqual({ notification_count: 3, highlight_count: 1 });
    expect(await countsIn(erin!)).toEqual({ notification_count: 3, highlight_count: 0 });
    // Bob's master rule is on since the test before: nothing of this room counts for him.
    expect(await countsIn(bob)).toEqual({ notification_count: 0, highlight_count: 0 });

    // Carol's own member event moves her read position: her counts start again from it.
    await setName("Caroline");
    await send(server.url, alice, many, text("cee clark, still there?"));
    await send(server.url, alice, many, text("ah, caroline!"));
    expect(await countsIn(carol!)).toEqual({ notification_count: 2, highlight_count: 1 });
    expect(await countsIn(erin!)).toEqual({ notification_count: 5, highlight_count: 0 });
  });
});
