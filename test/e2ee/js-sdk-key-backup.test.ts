/**
 * Key backup with matrix-js-sdk's Rust crypto, as Element's "set up secure backup" and "verify with recovery key"
 * do it: the first device bootstraps cross-signing, secret storage (account data, encrypted with a recovery key)
 * and a key backup version; the room keys of what it sends go to the server's backup. A second device of the same
 * user, logged in later (so no room key was ever sent to it), opens secret storage with the recovery key, restores
 * the backup and decrypts the history.
 */
import { Preset, type MatrixClient } from "matrix-js-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_TEST_TIMEOUT, expectNoSpecMismatches, sleep, type ProxiedServer } from "../clients/support.js";
import {
  decryptedMessage,
  eventually,
  MEGOLM,
  newCryptoUser,
  newDevice,
  startCryptoServer,
  stopAll,
  type KeyHolder,
  later,
  reportRefusals,
} from "./support.js";

interface BackupVersion {
  version: string;
  algorithm: string;
  count: number;
  etag: string;
}

describe("key backup with matrix-js-sdk's Rust crypto", () => {
  let hs: ProxiedServer;
  let first: MatrixClient;
  let second: MatrixClient | undefined;
  const keys: KeyHolder = {};

  beforeAll(async () => {
    hs = await startCryptoServer();
    first = await newCryptoUser(hs.url, "alice", keys);
  }, CLIENT_TEST_TIMEOUT);
  afterAll(async () => {
    stopAll(first, second);
    reportRefusals(hs);
    await (hs as ProxiedServer | undefined)?.close();
  }, CLIENT_TEST_TIMEOUT);

  /** The server's current backup version, as the first device reads it (null: 404, no backup). */
  async function backupVersion(): Promise<BackupVersion | null> {
    const r = await fetch(`${hs.url}/_matrix/client/v3/room_keys/version`, {
      headers: { Authorization: `Bearer ${first.getAccessToken()}` },
    });
    if (r.status === 404) return null;
    expect(r.status, await r.clone().text()).toBe(200);
    return (await r.json()) as BackupVersion;
  }

  it(
    "a device logged in later restores the room keys from the backup with the recovery key and reads the history",
    async () => {
      const crypto = first.getCrypto()!;
      await crypto.bootstrapCrossSigning({
        authUploadDeviceSigningKeys: async (makeRequest) => {
          await makeRequest(null);
        },
      });
      const recovery = await crypto.createRecoveryKeyFromPassphrase();
      await crypto.bootstrapSecretStorage({
        createSecretStorageKey: () => Promise.resolve(recovery),
        setupNewKeyBackup: true,
      });
      expect(await crypto.isSecretStorageReady()).toBe(true);
      expect(keys.keyId).toBeDefined();
      // The SDK checks the new backup in the background; Element waits for that, here it is asked for at once.
      const check1 = await crypto.checkKeyBackupAndEnable();
      const info = check1!.backupInfo;
      expect(info.algorithm).toBe("m.megolm_backup.v1.curve25519-aes-sha2");
      expect(check1!.trustInfo.trusted).toBe(true);
      const created = await backupVersion();
      expect(created).toMatchObject({ version: info.version, count: 0 });
      await eventually(
        first,
        "the backup in use",
        async () => (await crypto.getActiveSessionBackupVersion()) === info.version,
      );

      const { room_id: roomId } = await first.createRoom({
        preset: Preset.PrivateChat,
        initial_state: [{ type: "m.room.encryption", state_key: "", content: MEGOLM }],
      });
      // Sent before the client has the room's encryption state from its sync, a message would go out in clear.
      await eventually(first, "the room encrypted", () => crypto.isEncryptionEnabledInRoom(roomId));
      await first.sendTextMessage(roomId, "history one");
      await first.sendTextMessage(roomId, "history two");

      // The SDK uploads the new room key to the backup in the background: wait until the server counts it.
      const deadline = performance.now() + 30_000;
      let backup = await backupVersion();
      while ((backup?.count ?? 0) < 1 && performance.now() < deadline) {
        await sleep(250);
        backup = await backupVersion();
      }
      expect(backup).toMatchObject({ version: info.version });
      expect(backup!.count).toBeGreaterThanOrEqual(1);
      expect(backup!.etag).not.toBe(created!.etag);

      // The second device: the user typed the recovery key, which the SDK's callbacks hand out from `restored`.
      const restored: KeyHolder = { keyId: keys.keyId, key: recovery.privateKey };
      second = await newDevice(hs.url, "alice", restored);
      const crypto2 = second.getCrypto()!;
      // Element's "verify with recovery key": the cross-signing keys come from secret storage and sign this device.
      await eventually(second, "its own cross-signing keys", () => crypto2.userHasCrossSigningKeys());
      await crypto2.bootstrapCrossSigning({});
      expect(await crypto2.isCrossSigningReady()).toBe(true);
      await crypto2.loadSessionBackupPrivateKeyFromSecretStorage();
      const check = await crypto2.checkKeyBackupAndEnable();
      expect(check?.backupInfo.version).toBe(info.version);
      expect(check?.trustInfo.trusted).toBe(true);

      const one = later(decryptedMessage(second, roomId, "history one"));
      const two = later(decryptedMessage(second, roomId, "history two"));
      const result = await crypto2.restoreKeyBackup();
      expect(result.imported).toBeGreaterThanOrEqual(1);
      expect(result.total).toBe(result.imported);
      for (const event of [await one, await two]) {
        expect(event.getSender()).toBe("@alice:localhost");
        expect(event.getWireType()).toBe("m.room.encrypted");
      }
      await expectNoSpecMismatches(hs.proxy);
    },
    CLIENT_TEST_TIMEOUT,
  );
});
