/**
 * End-to-end encryption between two matrix-js-sdk 37.5 clients with the Rust crypto Element ships (the wasm build
 * from npm), through the validating proxy: in a megolm room each one's message reaches the other encrypted and is
 * decrypted there, which needs the server to hand out device keys and one-time keys and to carry the room keys
 * between devices as to-device messages.
 */
import type { MatrixClient } from "matrix-js-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_TEST_TIMEOUT, expectNoSpecMismatches, type ProxiedServer } from "../clients/support.js";
import {
  decryptedMessage,
  eventually,
  later,
  MEGOLM,
  newCryptoUser,
  reportRefusals,
  sharedEncryptedRoom,
  startCryptoServer,
  stopAll,
} from "./support.js";

describe("matrix-js-sdk with Rust crypto", () => {
  let hs: ProxiedServer;
  let alice: MatrixClient;
  let bob: MatrixClient;
  let roomId: string;
  const aliceId = "@alice:localhost";
  const bobId = "@bob:localhost";

  beforeAll(async () => {
    hs = await startCryptoServer();
    [alice, bob] = await Promise.all([newCryptoUser(hs.url, "alice"), newCryptoUser(hs.url, "bob")]);
  }, CLIENT_TEST_TIMEOUT);
  afterAll(async () => {
    stopAll(alice, bob);
    reportRefusals(hs);
    await (hs as ProxiedServer | undefined)?.close();
  }, CLIENT_TEST_TIMEOUT);

  it(
    "exchanges messages in a megolm room, and each side decrypts the other's",
    async () => {
      roomId = await sharedEncryptedRoom(alice, bob);
      for (const c of [alice, bob]) {
        await eventually(c, "encryption on in its crypto", () => c.getCrypto()!.isEncryptionEnabledInRoom(roomId));
      }

      const atBob = later(decryptedMessage(bob, roomId, "hello bob, secretly"));
      const sent = await alice.sendTextMessage(roomId, "hello bob, secretly");
      const hello = await atBob;
      expect(hello.getId()).toBe(sent.event_id);
      expect(hello.getSender()).toBe(aliceId);
      // What the server carried was ciphertext: the wire event is m.room.encrypted with no body.
      expect(hello.getWireType()).toBe("m.room.encrypted");
      expect(hello.getWireContent().algorithm).toBe(MEGOLM.algorithm);
      expect(hello.getWireContent().body).toBeUndefined();
      expect(hello.isDecryptionFailure()).toBe(false);

      const atAlice = later(decryptedMessage(alice, roomId, "hi alice, secretly"));
      const answer = await bob.sendTextMessage(roomId, "hi alice, secretly");
      const hi = await atAlice;
      expect(hi.getId()).toBe(answer.event_id);
      expect(hi.getSender()).toBe(bobId);
      expect(hi.getWireType()).toBe("m.room.encrypted");

      // The room keys travelled as encrypted to-device messages.
      expect(hs.proxy.count("PUT", /\/sendToDevice\/m\.room\.encrypted\//)).toBeGreaterThanOrEqual(2);
      await expectNoSpecMismatches(hs.proxy);
    },
    CLIENT_TEST_TIMEOUT,
  );
});
