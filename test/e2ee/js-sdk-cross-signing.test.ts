/**
 * Cross-signing with matrix-js-sdk 37.5's Rust crypto, through the validating proxy: two users who share a megolm
 * room each bootstrap it (their first master key needs no UIA, as in Synapse), alice signs a second device of hers
 * from the first, and bob sees both of alice's devices as signed by their owner (and alice sees bob's): the server
 * must store the keys and signatures, return them from /keys/query and announce the changes in device_lists.
 * Replacing a master key takes the password.
 */
import type { MatrixClient, UIAuthCallback } from "matrix-js-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_TEST_TIMEOUT, type ProxiedServer } from "../clients/support.js";
import {
  eventually,
  expectNoSpecMismatchesButUia,
  newCryptoUser,
  newDevice,
  passwordAuth,
  reportRefusals,
  sharedEncryptedRoom,
  startCryptoServer,
  stopAll,
} from "./support.js";

/**
 * Element's answer to the device-signing upload: try without auth, and give the password (recording who was
 * asked) when the server answers with a UIA challenge.
 */
function uia(client: MatrixClient, asked: string[]): UIAuthCallback<void> {
  return async (makeRequest) => {
    try {
      await makeRequest(null);
    } catch (e) {
      const { httpStatus, data } = e as { httpStatus?: number; data?: { session?: string } };
      if (httpStatus !== 401 || data?.session === undefined) throw e;
      asked.push(client.getUserId()!);
      await makeRequest(passwordAuth(client, data.session));
    }
  };
}

describe("cross-signing with matrix-js-sdk's Rust crypto", () => {
  let hs: ProxiedServer;
  let alice: MatrixClient;
  let bob: MatrixClient;
  let alice2: MatrixClient | undefined;
  const aliceId = "@alice:localhost";
  const bobId = "@bob:localhost";

  beforeAll(async () => {
    hs = await startCryptoServer();
    [alice, bob] = await Promise.all([newCryptoUser(hs.url, "alice"), newCryptoUser(hs.url, "bob")]);
    // Their crypto tracks each other's devices because they share an encrypted room.
    await sharedEncryptedRoom(alice, bob);
  }, CLIENT_TEST_TIMEOUT);
  afterAll(async () => {
    stopAll(alice, bob, alice2);
    reportRefusals(hs);
    await (hs as ProxiedServer | undefined)?.close();
  }, CLIENT_TEST_TIMEOUT);

  it(
    "bootstraps cross-signing, and the other user sees the devices as signed by their owner",
    async () => {
      const asked: string[] = [];
      for (const client of [alice, bob]) {
        await client.getCrypto()!.bootstrapCrossSigning({ authUploadDeviceSigningKeys: uia(client, asked) });
        expect(await client.getCrypto()!.isCrossSigningReady()).toBe(true);
      }
      // Each user's first master key needs no UIA (Synapse's rule); replacing it does, tested below.
      expect(asked).toEqual([]);

      // Alice logs in on a second device and signs it from the first, as after verifying it.
      alice2 = await newDevice(hs.url, "alice");
      const secondId = alice2.getDeviceId()!;
      await eventually(alice, "alice's second device", async () =>
        (await alice.getCrypto()!.getUserDeviceInfo([aliceId])).get(aliceId)?.has(secondId),
      );
      await alice.getCrypto()!.crossSignDevice(secondId);

      for (const deviceId of [alice.getDeviceId()!, secondId]) {
        const status = await eventually(bob, `alice's device ${deviceId} signed by alice`, async () => {
          const s = await bob.getCrypto()!.getDeviceVerificationStatus(aliceId, deviceId);
          return s?.signedByOwner ? s : undefined;
        });
        expect(status.signedByOwner).toBe(true);
        // Bob has not verified alice herself, so her devices are not verified for him.
        expect(status.crossSigningVerified).toBe(false);
      }
      const bobsDevice = await eventually(alice, "bob's device signed by bob", async () => {
        const s = await alice.getCrypto()!.getDeviceVerificationStatus(bobId, bob.getDeviceId()!);
        return s?.signedByOwner ? s : undefined;
      });
      expect(bobsDevice.signedByOwner).toBe(true);
      expect(await bob.getCrypto()!.userHasCrossSigningKeys(aliceId, true)).toBe(true);

      // Replacing a master key that exists takes the password.
      await alice.getCrypto()!.bootstrapCrossSigning({
        setupNewCrossSigning: true,
        authUploadDeviceSigningKeys: uia(alice, asked),
      });
      expect(asked).toEqual([aliceId]);
      expect(await alice.getCrypto()!.isCrossSigningReady()).toBe(true);
      await expectNoSpecMismatchesButUia(hs);
    },
    CLIENT_TEST_TIMEOUT,
  );
});
