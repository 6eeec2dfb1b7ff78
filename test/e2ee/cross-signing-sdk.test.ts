/**
 * matrix-js-sdk with its Rust crypto (the wasm build Element and Cinny run) against cross-signing and key backup,
 * through the validating proxy: the SDK bootstraps cross-signing (UIA on the device-signing upload, answered with
 * the password as Element does), creates a key backup, and another user's client sees the first user's device as
 * verified by its owner. Every response the SDKs get is checked against the spec.
 */
import type { MatrixClient } from "matrix-js-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPEN_REGISTRATION } from "../api/client-support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { PASSWORD, startElementLike, until } from "../clients/sdk-support.js";
import { CLIENT_TEST_TIMEOUT, sleep, startProxiedServer, type ProxiedServer } from "../clients/support.js";

/**
 * The proxy's findings, less the one gap in the spec itself: `cross_signing.yaml` describes the UIA of
 * `/keys/device_signing/upload` in prose but lists no 401 response, so the UIA challenge reads as undocumented.
 */
async function expectOnlyTheUiaGap(server: ProxiedServer): Promise<void> {
  await server.proxy.settled();
  const uia = /^POST \/_matrix\/client\/v3\/keys\/device_signing\/upload → 401 [^]*"flows"/;
  const others = server.proxy.mismatches.filter((m) => !uia.test(m));
  expect(others, others.join("\n\n")).toEqual([]);
}

forEachDatabase((kind) => {
  describe("Rust crypto: cross-signing bootstrap and key backup", { timeout: CLIENT_TEST_TIMEOUT }, () => {
    let server: ProxiedServer;
    let alice: MatrixClient;
    let bob: MatrixClient;

    beforeAll(async () => {
      server = await startProxiedServer(kind, OPEN_REGISTRATION);
      alice = await startElementLike(server.url, "alice");
      bob = await startElementLike(server.url, "bob");
    }, CLIENT_TEST_TIMEOUT);
    afterAll(async () => {
      (alice as MatrixClient | undefined)?.stopClient();
      (bob as MatrixClient | undefined)?.stopClient();
      await (server as ProxiedServer | undefined)?.close();
    });

    it("bootstraps cross-signing; the other user sees the device as verified by its owner", async () => {
      const crypto = alice.getCrypto()!;
      // The first keys go up without UIA (MSC3967): the request without auth must succeed.
      let asked = 0;
      await crypto.bootstrapCrossSigning({
        setupNewCrossSigning: true,
        authUploadDeviceSigningKeys: async (makeRequest) => {
          asked++;
          await makeRequest(null);
        },
      });
      expect(asked).toBe(1);
      const status = await crypto.getCrossSigningStatus();
      expect(status.publicKeysOnDevice).toBe(true);
      expect(status.privateKeysCachedLocally.masterKey).toBe(true);

      // Bob tracks Alice's devices once they share an encrypted room, as a client does.
      const { room_id: roomId } = await alice.createRoom({
        invite: [bob.getUserId()!],
        initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
      });
      await until(bob, "the invite", () => bob.getRoom(roomId));
      await bob.joinRoom(roomId);
      const bobCrypto = bob.getCrypto()!;
      const signedByOwner = async () => {
        for (let i = 0; i < 100; i++) {
          const status = await bobCrypto.getDeviceVerificationStatus(alice.getUserId()!, alice.getDeviceId()!);
          if (status?.signedByOwner) return true;
          await sleep(200);
        }
        return false;
      };
      expect(await signedByOwner()).toBe(true);

      // A reset (new keys) asks for UIA again, and succeeds with it.
      let askedAgain = 0;
      await crypto.bootstrapCrossSigning({
        setupNewCrossSigning: true,
        authUploadDeviceSigningKeys: async (makeRequest) => {
          askedAgain++;
          const challenge = await makeRequest(null).then(
            () => {
              throw new Error("replacing cross-signing keys without UIA succeeded");
            },
            (e: unknown) => e as { httpStatus?: number; data?: { session?: string } },
          );
          expect(challenge.httpStatus).toBe(401);
          await makeRequest({
            type: "m.login.password",
            identifier: { type: "m.id.user", user: alice.getUserId()! },
            password: PASSWORD,
            session: challenge.data?.session,
          });
        },
      });
      expect(askedAgain).toBe(1);
      await expectOnlyTheUiaGap(server);
    });

    it("creates a key backup the SDK then finds and trusts", async () => {
      const crypto = alice.getCrypto()!;
      await crypto.resetKeyBackup();
      const info = await crypto.checkKeyBackupAndEnable();
      const version = await crypto.getActiveSessionBackupVersion();
      expect(version).not.toBeNull();
      expect(info?.backupInfo.version).toBe(version);
      expect(info?.trustInfo.trusted).toBe(true);
      await expectOnlyTheUiaGap(server);
    });
  });
});
