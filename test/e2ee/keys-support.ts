/**
 * What the cross-signing and key-backup tests share: real ed25519 key pairs and signatures over canonical JSON
 * (made here with node:crypto, checked by the server), device keys a client would upload, and a server with a
 * second database connection for promoting an admin.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { canonicalJson } from "../../src/matrix/canonical-json.js";
import type { Db } from "../../src/db/database.js";
import { openTestDb } from "../api/support.js";
import { createTestDatabase, type DatabaseKind } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Json = Record<string, unknown>;

export interface Ed25519 {
  /** Unpadded Base64 of the public key. */
  publicKey: string;
  sign(object: Json): string;
}

export function ed25519(): Ed25519 {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(12);
  return {
    publicKey: raw.toString("base64").replace(/=+$/, ""),
    sign(object) {
      const { signatures: _s, unsigned: _u, ...rest } = object;
      return sign(null, Buffer.from(canonicalJson(rest)), privateKey)
        .toString("base64")
        .replace(/=+$/, "");
    },
  };
}

/** `object` with `signer`'s signature under `signatures[userId][keyId]` added. */
export function signed(object: Json, userId: string, keyId: string, signer: Ed25519): Json {
  const signatures = (object.signatures ?? {}) as Record<string, Record<string, string>>;
  return {
    ...object,
    signatures: { ...signatures, [userId]: { ...signatures[userId], [keyId]: signer.sign(object) } },
  };
}

/** A cross-signing key object of `userId` for `key`; signed by `by` (the master key) when given. */
export function crossSigningKey(userId: string, usage: string, key: Ed25519, by?: Ed25519): Json {
  const object: Json = { user_id: userId, usage: [usage], keys: { [`ed25519:${key.publicKey}`]: key.publicKey } };
  return by ? signed(object, userId, `ed25519:${by.publicKey}`, by) : object;
}

/** A user's three cross-signing keys and the upload body that carries them. */
export interface CrossSigningSet {
  master: Ed25519;
  selfSigning: Ed25519;
  userSigning: Ed25519;
  body: { master_key: Json; self_signing_key: Json; user_signing_key: Json };
}

export function crossSigningSet(userId: string): CrossSigningSet {
  const master = ed25519();
  const selfSigning = ed25519();
  const userSigning = ed25519();
  return {
    master,
    selfSigning,
    userSigning,
    body: {
      master_key: crossSigningKey(userId, "master", master),
      self_signing_key: crossSigningKey(userId, "self_signing", selfSigning, master),
      user_signing_key: crossSigningKey(userId, "user_signing", userSigning, master),
    },
  };
}

/** A device's keys with a real ed25519 identity key, self-signed as a client uploads them. */
export function realDeviceKeys(user: { userId: string; deviceId: string }, identity: Ed25519): Json {
  const object: Json = {
    user_id: user.userId,
    device_id: user.deviceId,
    algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
    keys: {
      [`curve25519:${user.deviceId}`]: ed25519().publicKey,
      [`ed25519:${user.deviceId}`]: identity.publicKey,
    },
  };
  return signed(object, user.userId, `ed25519:${user.deviceId}`, identity);
}

export interface KeysServer extends TestServer {
  /** A second connection to the server's database. */
  look: Db;
}

/** A server with open registration and generous limits, and a connection to its database. */
export async function startKeysServer(kind: DatabaseKind): Promise<KeysServer> {
  const db = await createTestDatabase(kind);
  const server = await startTestServer(db, {
    enable_registration: true,
    enable_registration_without_verification: true,
    allow_guest_access: true,
    rc_registration: { per_second: 1000, burst_count: 1000 },
    rc_login: {
      address: { per_second: 1000, burst_count: 1000 },
      account: { per_second: 1000, burst_count: 1000 },
      failed_attempts: { per_second: 1000, burst_count: 1000 },
    },
  });
  const look = openTestDb(db);
  return {
    ...server,
    look,
    async close() {
      await look.close();
      await server.close();
    },
  };
}

export async function promote(look: Db, userId: string): Promise<void> {
  await look.kysely.updateTable("users").set({ admin: 1 }).where("name", "=", userId).execute();
}
