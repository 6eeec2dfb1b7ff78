/**
 * Two independent end-to-end encryption stacks in one room: matrix-js-sdk with its Rust crypto, and matrix-nio with
 * libolm (Debian's python3-matrix-nio and python3-olm, run by the system python; nio_e2ee.py holds its side). The
 * js-sdk client must find nio's device through /keys/query, claim one of its one-time keys and carry the room key
 * to it as a to-device message; nio decrypts the message. nio's encrypted answer goes the other way.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Preset, type MatrixClient } from "matrix-js-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureNio, runNioScript } from "../clients/nio.js";
import { signUp, until } from "../clients/sdk-support.js";
import { CLIENT_TEST_TIMEOUT, expectNoSpecMismatches, type ProxiedServer } from "../clients/support.js";
import {
  decryptedMessage,
  MEGOLM,
  newCryptoUser,
  PASSWORD,
  startCryptoServer,
  stopAll,
  later,
  reportRefusals,
} from "./support.js";

beforeAll(ensureNio, 600_000);

describe("matrix-nio with olm and matrix-js-sdk with Rust crypto", () => {
  let hs: ProxiedServer;
  let alice: MatrixClient;
  let store: string;
  const nioId = "@niobot:localhost";

  beforeAll(async () => {
    hs = await startCryptoServer();
    alice = await newCryptoUser(hs.url, "alice");
    await signUp(hs.url, "niobot");
    store = mkdtempSync(join(tmpdir(), "gatehouse-nio-store-"));
  }, CLIENT_TEST_TIMEOUT);
  afterAll(async () => {
    stopAll(alice);
    reportRefusals(hs);
    await (hs as ProxiedServer | undefined)?.close();
    if (store) rmSync(store, { recursive: true, force: true });
  }, CLIENT_TEST_TIMEOUT);

  it(
    "nio decrypts a message matrix-js-sdk sent, and matrix-js-sdk decrypts nio's answer",
    async () => {
      const { room_id: roomId } = await alice.createRoom({
        preset: Preset.PrivateChat,
        invite: [nioId],
        initial_state: [{ type: "m.room.encryption", state_key: "", content: MEGOLM }],
      });
      const joined = later(
        until(alice, "nio's join", () => alice.getRoom(roomId)?.getMember(nioId)?.membership === "join", 90_000),
      );
      const nio = runNioScript("../e2ee/nio_e2ee.py", [hs.url, nioId, PASSWORD, roomId, store]);
      const failed = nio.then((run) => {
        throw new Error(`nio ended before it joined: ${run.stdout}\n${run.stderr}`);
      });
      await Promise.race([joined, failed]);
      failed.catch(() => undefined);

      // nio uploaded its keys before joining; alice's crypto learns its device once the join is in her sync.
      const pong = later(decryptedMessage(alice, roomId, "pong from nio", 90_000));
      await alice.sendTextMessage(roomId, "hello nio");

      const run = await nio;
      const why = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
      expect(run.result, why).not.toBeNull();
      const s = run.result!.steps;
      expect(s.message, why).toMatchObject({
        type: "RoomMessageText",
        sender: "@alice:localhost",
        body: "hello nio",
        encrypted: true,
      });
      expect(s.room, why).toMatchObject({ encrypted: true });
      expect(run.result!.ok, why).toBe(true);
      expect(run.code, why).toBe(0);

      const answer = await pong;
      expect(answer.getSender()).toBe(nioId);
      expect(answer.getWireType()).toBe("m.room.encrypted");
      expect(answer.getId()).toBe(s.answer!.event_id);
      await expectNoSpecMismatches(hs.proxy);
    },
    CLIENT_TEST_TIMEOUT,
  );
});
