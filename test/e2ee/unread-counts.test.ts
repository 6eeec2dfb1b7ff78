/**
 * Unread counts as matrix-js-sdk shows them (the badge Element draws from `unread_notifications` in /sync): each
 * member's push rules evaluated for every event, here the default rules. Another member's messages count for
 * bob, a message that mentions him (an intentional mention, `m.mentions`) also as a highlight, his own never; and
 * what a user sends counts as read up to there, as in Synapse. The receipt that resets the counts is in
 * live-sync.test.ts.
 */
import { MsgType, NotificationCountType, Preset, type MatrixClient } from "matrix-js-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextTimelineEvent, startElementLike, until } from "../clients/sdk-support.js";
import { CLIENT_TEST_TIMEOUT, expectNoSpecMismatches, type ProxiedServer } from "../clients/support.js";
import { later, reportRefusals, serverRoomView, startCryptoServer, stopAll } from "./support.js";

describe("unread counts through matrix-js-sdk's /sync", () => {
  let hs: ProxiedServer;
  let alice: MatrixClient;
  let bob: MatrixClient;
  let roomId: string;
  const bobId = "@bob:localhost";

  beforeAll(async () => {
    hs = await startCryptoServer();
    [alice, bob] = await Promise.all([startElementLike(hs.url, "alice"), startElementLike(hs.url, "bob")]);
    const invited = later(until(bob, "the invite", () => bob.getRoom(roomId)?.getMyMembership() === "invite"));
    ({ room_id: roomId } = await alice.createRoom({ preset: Preset.PrivateChat, name: "Counts", invite: [bobId] }));
    await invited;
    await bob.joinRoom(roomId);
    await until(alice, "bob's join", () => alice.getRoom(roomId)?.getMember(bobId)?.membership === "join");
  }, CLIENT_TEST_TIMEOUT);
  afterAll(async () => {
    stopAll(alice, bob);
    reportRefusals(hs);
    await (hs as ProxiedServer | undefined)?.close();
  }, CLIENT_TEST_TIMEOUT);

  it(
    "counts alice's messages for bob and a mention of him as a highlight; what bob sends resets his counts",
    async () => {
      const room = bob.getRoom(roomId)!;
      const count = (type: NotificationCountType) => room.getUnreadNotificationCount(type);
      const mentioned = later(
        nextTimelineEvent(bob, roomId, "the mention", (e) => e.getContent().body === "bob: look"),
      );
      await alice.sendTextMessage(roomId, "one");
      await alice.sendMessage(roomId, {
        msgtype: MsgType.Text,
        body: "bob: look",
        "m.mentions": { user_ids: [bobId] },
      });
      await mentioned;
      await until(bob, "two unread", () => count(NotificationCountType.Total) === 2);
      expect(count(NotificationCountType.Highlight)).toBe(1);
      expect((await serverRoomView(hs, bob, roomId))?.unread_notifications).toEqual({
        notification_count: 2,
        highlight_count: 1,
      });
      // Alice's own messages never count for her.
      expect((await serverRoomView(hs, alice, roomId))?.unread_notifications).toEqual({
        notification_count: 0,
        highlight_count: 0,
      });

      // A message without a mention counts, but does not highlight.
      await alice.sendTextMessage(roomId, "three");
      await until(bob, "three unread", () => count(NotificationCountType.Total) === 3);
      expect(count(NotificationCountType.Highlight)).toBe(1);

      // Bob answers: he has read what came before his own message.
      await bob.sendTextMessage(roomId, "on it");
      expect((await serverRoomView(hs, bob, roomId))?.unread_notifications).toEqual({
        notification_count: 0,
        highlight_count: 0,
      });
      await until(bob, "nothing unread", () => count(NotificationCountType.Total) === 0);
      expect(count(NotificationCountType.Highlight)).toBe(0);
      // ... and his message counts for alice.
      await until(alice, "one unread for alice", () =>
        alice.getRoom(roomId)?.getUnreadNotificationCount(NotificationCountType.Total) === 1 ? true : undefined,
      );
      await expectNoSpecMismatches(hs.proxy);
    },
    CLIENT_TEST_TIMEOUT,
  );
});
