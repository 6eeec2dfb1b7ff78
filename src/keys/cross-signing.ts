/**
 * @module Cross-signing keys (spec "Cross-signing"): a user's master, self-signing and user-signing keys, uploaded
 * by `/keys/device_signing/upload` under Synapse's rules (`E2eKeysHandler.upload_signing_keys_for_user`, MSC3967 for
 * when UIA applies), and what `/keys/query` shows of them and of the signatures made with them.
 */
import { recordAudit, type AdminActor } from "../accounts/audit.js";
import type { AccountsContext, ServerContext } from "../accounts/context.js";
import { validateUserViaUiAuth } from "../accounts/uia-password.js";
import type { CrossSigningKeyType, CrossSigningKeys } from "../db/cross-signing-keys.js";
import type { Stores, Tables } from "../db/stores.js";
import { ErrCode, MatrixError } from "../errors.js";
import { decodeBase64 } from "../matrix/base64.js";
import { CanonicalJsonError, canonicalJson, canonicallyEqual } from "../matrix/canonical-json.js";
import { verifyJsonSignature } from "../matrix/signing.js";
import { recordDeviceListChange } from "./device-lists.js";
import { inStreamTransaction, type StreamWriter } from "../sync/stream.js";

type Json = Record<string, unknown>;

/** How long an admin's `_allow_cross_signing_replacement_without_uia` lasts (Synapse's `REPLACEMENT_PERIOD_MS`). */
export const REPLACEMENT_WITHOUT_UIA_MS = 10 * 60 * 1000;

/** The request fields of `/keys/device_signing/upload`, with the key type each holds. */
const FIELDS: [string, CrossSigningKeyType][] = [
  ["master_key", "master"],
  ["self_signing_key", "self_signing"],
  ["user_signing_key", "user_signing"],
];

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A cross-signing key's one ed25519 public key: its key ID, the public key, and the part after `ed25519:`. */
export interface VerifyKey {
  keyId: string;
  publicKey: string;
  /** What Synapse calls the key's "version": the key ID without its algorithm, by which signatures name it. */
  name: string;
}

/** The key's verify key, or null unless `keys` holds exactly one ed25519 key of 32 bytes (Synapse's rule). */
export function verifyKeyOf(key: Json): VerifyKey | null {
  if (!isObject(key.keys)) return null;
  const entries = Object.entries(key.keys);
  if (entries.length !== 1) return null;
  const [keyId, publicKey] = entries[0]!;
  if (!keyId.startsWith("ed25519:") || typeof publicKey !== "string") return null;
  if (decodeBase64(publicKey)?.length !== 32) return null;
  return { keyId, publicKey, name: keyId.slice("ed25519:".length) };
}

/** Whether `object` carries a valid signature by `signer` under `userId`; false for anything not signable. */
export function signedBy(object: Json, userId: string, signer: { keyId: string; publicKey: string }): boolean {
  try {
    return verifyJsonSignature(object, userId, signer.keyId, signer.publicKey);
  } catch (err) {
    if (err instanceof CanonicalJsonError) return false;
    throw err;
  }
}

/** The object without `signatures` and `unsigned`: what a signature covers, so two copies compare by it. */
export function signedPart(object: Json): Json {
  const { signatures: _s, unsigned: _u, ...rest } = object;
  return rest;
}

const isStringMap = (v: unknown): boolean => isObject(v) && Object.values(v).every((s) => typeof s === "string");

/**
 * Synapse's `_check_cross_signing_key`: the key names the uploader, has the type in `usage` and one ed25519 key;
 * when `signer` is given, the key must carry its valid signature. Answers the key's verify key.
 */
function checkKey(value: unknown, userId: string, type: CrossSigningKeyType, signer: VerifyKey | null): VerifyKey {
  if (!isObject(value)) throw new MatrixError(ErrCode.BadJson, `${type}_key must be an object`);
  try {
    canonicalJson(value);
  } catch (err) {
    if (err instanceof CanonicalJsonError) throw new MatrixError(ErrCode.BadJson, `${type}_key: ${err.message}`);
    throw err;
  }
  const usage = value.usage;
  const signatures = value.signatures;
  const verifyKey = verifyKeyOf(value);
  if (
    value.user_id !== userId ||
    !Array.isArray(usage) ||
    !usage.every((u) => typeof u === "string") ||
    !usage.includes(type) ||
    (signatures !== undefined && !(isObject(signatures) && Object.values(signatures).every(isStringMap))) ||
    verifyKey === null
  ) {
    throw new MatrixError(ErrCode.InvalidParam, `Invalid ${type} key`);
  }
  if (signer && !signedBy(value, userId, signer)) {
    throw new MatrixError(ErrCode.InvalidSignature, `Invalid signature on ${type} key`);
  }
  return verifyKey;
}

/**
 * Records, in the transaction that stores them, that `userId`'s keys changed (a cross-signing key, or a signature
 * on a device or master key), so the device lists of `/sync` and `/keys/changes` report the user. The one call
 * from cross-signing to device lists.
 */
export async function crossSigningChanged(
  tables: Tables,
  writer: StreamWriter,
  userId: string,
  ids: string[],
): Promise<void> {
  await recordDeviceListChange(tables, writer, userId, ids);
}

export interface SigningKeysUpload {
  /** The request's path and method, for the UIA session. */
  uri: string;
  method: string;
  body: Json;
}

/**
 * `POST /keys/device_signing/upload`. Keys identical to the stored ones: `{}` with nothing done. Otherwise each key
 * given is checked (self-signing and user-signing keys must be signed by the master key given, or else the stored
 * one), then UIA is asked unless this is the first master key or an admin opened a window for replacing it, and
 * only then are the keys stored, together.
 */
export async function uploadSigningKeys(
  sc: ServerContext,
  requester: { userId: string },
  upload: SigningKeysUpload,
): Promise<Record<string, never>> {
  const ctx = sc.accounts;
  const { userId } = requester;
  const { body } = upload;
  const given: CrossSigningKeys = {};
  for (const [field, type] of FIELDS) {
    const v = body[field];
    if (v !== undefined && v !== null) given[type] = v as Json;
  }
  const stored = (await ctx.stores.crossSigningKeys.forUsers([userId])).get(userId) ?? {};
  const changed = (Object.keys(given) as CrossSigningKeyType[]).filter(
    (type) => !canonicallyEqual(stored[type], given[type]),
  );
  if (changed.length === 0) return {};

  const master = given.master ?? stored.master;
  if (!master) throw new MatrixError(ErrCode.MissingParam, "No master key available");
  const masterKey = given.master ? checkKey(given.master, userId, "master", null) : verifyKeyOf(master);
  if (!masterKey) throw new MatrixError(ErrCode.Unknown, "Invalid master key", { status: 500 });
  const names = [masterKey.name];
  for (const type of ["self_signing", "user_signing"] as const) {
    if (given[type]) names.push(checkKey(given[type], userId, type, masterKey).name);
  }
  // `/keys/signatures/upload` tells a device from a master key by its ID: they must not be able to coincide.
  const devices = await ctx.stores.devices.listForUser(userId);
  if (devices.some((d) => names.includes(d.deviceId))) throw new MatrixError(ErrCode.Forbidden, "Key ID in use");

  if (stored.master) {
    const until = await ctx.stores.crossSigningKeys.replaceableUntil(userId);
    if (typeof until !== "number" || ctx.now() >= until) {
      await validateUserViaUiAuth(sc, userId, {
        uri: upload.uri,
        method: upload.method,
        body,
        description: "reset the device signing key on your account",
      });
    }
  }

  const changedNames = changed.map((type) => verifyKeyOf(given[type]!)!.name);
  await inStreamTransaction(ctx.stores, async (t, writer) => {
    for (const type of changed) await t.crossSigningKeys.set(userId, type, given[type]!);
    await crossSigningChanged(t, writer, userId, changedNames);
  });
  return {};
}

/** The cross-signing part of a `/keys/query` answer. */
export interface CrossSigningQueryResult {
  master_keys: Record<string, Json>;
  self_signing_keys: Record<string, Json>;
  user_signing_keys: Record<string, Json>;
}

/** `signatures[signer][keyId] = signature` on a copy of `object`. */
function withSignature(object: Json, signer: string, keyId: string, signature: string): Json {
  const signatures = isObject(object.signatures) ? object.signatures : {};
  const mine = isObject(signatures[signer]) ? signatures[signer] : {};
  return { ...object, signatures: { ...signatures, [signer]: { ...mine, [keyId]: signature } } };
}

/**
 * The cross-signing keys of `userIds` as `requesterId` sees them (Synapse's `get_cross_signing_keys_from_cache`):
 * everyone's master and self-signing keys, only the requester's own user-signing key; on a master key, the
 * signatures the requester made of it (with a device, or with their user-signing key), and no one else's.
 */
export async function crossSigningKeysFor(
  stores: Stores,
  requesterId: string,
  userIds: string[],
): Promise<CrossSigningQueryResult> {
  const result: CrossSigningQueryResult = { master_keys: {}, self_signing_keys: {}, user_signing_keys: {} };
  const keys = await stores.crossSigningKeys.forUsers(userIds);
  const targets: { userId: string; keyId: string }[] = [];
  for (const [userId, k] of keys) {
    const name = k.master ? verifyKeyOf(k.master)?.name : undefined;
    if (name !== undefined) targets.push({ userId, keyId: name });
  }
  const signatures = await stores.crossSigningSignatures.bySigner(requesterId, targets);
  for (const [userId, k] of keys) {
    let master = k.master;
    if (master) {
      for (const s of signatures) {
        if (s.targetUserId === userId) master = withSignature(master, requesterId, s.keyId, s.signature);
      }
      result.master_keys[userId] = master;
    }
    if (k.self_signing) result.self_signing_keys[userId] = k.self_signing;
    if (k.user_signing && userId === requesterId) result.user_signing_keys[userId] = k.user_signing;
  }
  return result;
}

/** `devices` (one user's device keys by device ID) with the signatures of them by the user's self-signing key. */
export async function withDeviceSignatures(
  stores: Stores,
  userId: string,
  devices: Map<string, Json>,
): Promise<Map<string, Json>> {
  const out = new Map(devices);
  for (const s of await stores.deviceSignatures.forUser(userId)) {
    const device = out.get(s.deviceId);
    if (device) out.set(s.deviceId, withSignature(device, userId, s.keyId, s.signature));
  }
  return out;
}

/**
 * `POST /_synapse/admin/v1/users/{userId}/_allow_cross_signing_replacement_without_uia`: for the next 10 minutes
 * the user may replace their master key without UIA (until they do). 404 when they have no master key (an unknown
 * or remote user has none). Audited with the window's end.
 */
export async function allowCrossSigningReplacement(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
): Promise<{ updatable_without_uia_before_ms: number }> {
  const until = ctx.now() + REPLACEMENT_WITHOUT_UIA_MS;
  await ctx.stores.transaction(async (t) => {
    if (!(await t.crossSigningKeys.allowReplacementUntil(userId, until))) {
      throw new MatrixError(ErrCode.NotFound, "User has no master cross-signing key");
    }
    await recordAudit(
      t,
      ctx,
      actor,
      "user.allow_cross_signing_replacement",
      userId,
      {},
      {
        updatable_without_uia_before_ms: until,
      },
    );
  });
  return { updatable_without_uia_before_ms: until };
}
