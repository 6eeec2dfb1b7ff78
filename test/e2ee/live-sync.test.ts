/**
 * The live parts of a chat as two matrix-js-sdk clients (started as Element starts them) see them through their
 * own /sync loops, through the validating proxy: the other's typing notice, public and private read receipts,
 * unread and highlight counts that the reader's receipt resets; and a freshly logged-in client's first incremental
 * sync, which a web client waits for behind "Connecting…", must come back well before the 30 s long-poll ends.
 */
import {
  ClientEvent,
  MsgType,
  NotificationCountType,
  Preset,
  ReceiptType,
  SyncState,
  type MatrixClient,
} from "matrix-js-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loggedIn, nextTimelineEvent, signUp, startElementLike, startSyncing, until } from "../clients/sdk-support.js";
import { CLIENT_TEST_TIMEOUT, expectNoSpecMismatches, type ProxiedServer } from "../clients/support.js";
import { later, reportRefusals, serverRoomView, startCryptoServer, stopAll } from "./support.js";

describe("typing, receipts, unread counts and the first incremental sync with matrix-js-sdk", () => {
  let hs: ProxiedServer;
  let alice: MatrixClient;
  let bob: MatrixClient;
  let carol: MatrixClient | undefined;
  let roomId: string;
  const bobId = "@bob:localhost";

  beforeAll(async () => {
    hs = await startCryptoServer();
    [alice, bob] = await Promise.all([startElementLike(hs.url, "alice"), startElementLike(hs.url, "bob")]);
    const invited = later(until(bob, "the invite", () => bob.getRoom(roomId)?.getMyMembership() === "invite"));
    ({ room_id: roomId } = await alice.createRoom({ preset: Preset.PrivateChat, name: "Chat", invite: [bobId] }));
    await invited;
    await bob.joinRoom(roomId);
    await until(alice, "bob's join", () => alice.getRoom(roomId)?.getMember(bobId)?.membership === "join");
  }, CLIENT_TEST_TIMEOUT);
  afterAll(async () => {
    stopAll(alice, bob, carol);
    reportRefusals(hs);
    await (hs as ProxiedServer | undefined)?.close();
  }, CLIENT_TEST_TIMEOUT);

  it(
    "shows bob typing to alice, then not typing",
    async () => {
      const typing = later(until(alice, "bob typing", () => alice.getRoom(roomId)?.getMember(bobId)?.typing));
      await bob.sendTyping(roomId, true, 20_000);
      await typing;
      const stopped = later(
        until(alice, "bob no longer typing", () => alice.getRoom(roomId)?.getMember(bobId)?.typing === false),
      );
      await bob.sendTyping(roomId, false, 0);
      await stopped;
      await expectNoSpecMismatches(hs.proxy);
    },
    CLIENT_TEST_TIMEOUT,
  );

  it(
    "counts alice's messages as unread for bob, a mention as a highlight, and bob's read receipt resets them",
    async () => {
      const last = later(nextTimelineEvent(bob, roomId, "the mention", (e) => e.getContent().body === "bob: look"));
      await alice.sendTextMessage(roomId, "one");
      await alice.sendMessage(roomId, {
        msgtype: MsgType.Text,
        body: "bob: look",
        "m.mentions": { user_ids: [bobId] },
      });
      const mention = await last;
      const room = bob.getRoom(roomId)!;
      await until(bob, "two unread", () => room.getUnreadNotificationCount(NotificationCountType.Total) === 2);
      expect(room.getUnreadNotificationCount(NotificationCountType.Highlight)).toBe(1);
      expect((await serverRoomView(hs, bob, roomId))?.unread_notifications).toEqual({
        notification_count: 2,
        highlight_count: 1,
      });

      // Bob reads up to the mention: alice sees his receipt; the server's counts for him drop to zero.
      const seen = later(
        until(alice, "bob's receipt", () =>
          alice.getRoom(roomId)?.getReadReceiptForUserId(bobId, true)?.eventId === mention.getId() ? true : undefined,
        ),
      );
      await bob.sendReadReceipt(mention, ReceiptType.Read);
      await seen;
      expect((await serverRoomView(hs, bob, roomId))?.unread_notifications).toEqual({
        notification_count: 0,
        highlight_count: 0,
      });
      // Alice's own messages never counted for her.
      expect((await serverRoomView(hs, alice, roomId))?.unread_notifications).toEqual({
        notification_count: 0,
        highlight_count: 0,
      });
      await expectNoSpecMismatches(hs.proxy);
    },
    CLIENT_TEST_TIMEOUT,
  );

  it(
    "keeps a private read receipt from the other user, while it still resets its owner's count",
    async () => {
      const arrived = later(nextTimelineEvent(bob, roomId, "the next message", (e) => e.getContent().body === "two"));
      await alice.sendTextMessage(roomId, "two");
      const two = await arrived;
      await until(bob, "one unread", () => bob.getRoom(roomId)!.getUnreadNotificationCount() === 1);
      const before = alice.getRoom(roomId)!.getReadReceiptForUserId(bobId, true)?.eventId;

      await bob.sendReadReceipt(two, ReceiptType.ReadPrivate);
      expect((await serverRoomView(hs, bob, roomId))?.unread_notifications?.notification_count).toBe(0);
      // Bob's typing notice goes out after his private receipt; once alice has it, she would have the receipt too.
      const typing = later(until(alice, "bob typing", () => alice.getRoom(roomId)?.getMember(bobId)?.typing));
      await bob.sendTyping(roomId, true, 20_000);
      await typing;
      expect(alice.getRoom(roomId)!.getReadReceiptForUserId(bobId, true)?.eventId).toBe(before);
      await bob.sendTyping(roomId, false, 0);
      await expectNoSpecMismatches(hs.proxy);
    },
    CLIENT_TEST_TIMEOUT,
  );

  it(
    "answers a new client's first incremental sync promptly, not after the 30 s long-poll",
    async () => {
      // A client without crypto: Element's would upload its device keys after the initial sync, and that change
      // alone may wake the long-poll; what is measured here is a server with nothing else to say.
      carol = loggedIn(hs.url, await signUp(hs.url, "carol"));
      await startSyncing(carol);
      const start = performance.now();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no incremental sync in 40 s")), 40_000);
        carol!.on(ClientEvent.Sync, (state) => {
          if (state !== SyncState.Syncing) return;
          clearTimeout(timer);
          resolve();
        });
      });
      const elapsed = performance.now() - start;
      // 30 s is the long-poll's timeout: anything near it means the server had nothing to say and held it.
      expect(elapsed, `first incremental sync took ${Math.round(elapsed)} ms`).toBeLessThan(10_000);
      await expectNoSpecMismatches(hs.proxy);
    },
    CLIENT_TEST_TIMEOUT,
  );
});
