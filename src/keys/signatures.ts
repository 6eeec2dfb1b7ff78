/**
 * @module `POST /keys/signatures/upload` (spec "Cross-signing"), with Synapse's rules
 * (`E2eKeysHandler.upload_signatures_for_device_keys`). A user may upload:
 * - signatures of their own devices by their self-signing key;
 * - signatures of their own master key by their devices;
 * - signatures of other users' master keys by their user-signing key.
 * The signed object must be the stored key, `signatures` and `unsigned` aside, and each signature must verify.
 * What fails is reported per key in `failures` and nothing of it is stored; the rest is stored in one transaction.
 */
import type { AccountsContext } from "../accounts/context.js";
import type { DeviceSignature } from "../db/device-signatures.js";
import type { KeySignature } from "../db/cross-signing-signatures.js";
import { ErrCode, MatrixError } from "../errors.js";
import { canonicallyEqual } from "../matrix/canonical-json.js";
import { inStreamTransaction } from "../sync/stream.js";
import { crossSigningChanged, isObject, signedBy, signedPart, verifyKeyOf, type VerifyKey } from "./cross-signing.js";

type Json = Record<string, unknown>;

/** A failed key: the spec's `{errcode, error}`, with Synapse's `status` and `message` beside them. */
export interface SignatureFailure {
  status: number;
  errcode: string;
  error: string;
  message: string;
}

export interface SignaturesUploadResponse {
  failures: Record<string, Record<string, SignatureFailure>>;
}

function failureOf(err: MatrixError): SignatureFailure {
  return { status: err.status, errcode: err.errcode, error: err.message, message: err.message };
}

const invalidSignature = () => new MatrixError(ErrCode.InvalidSignature, "Invalid signature");
const notFound = (message: string) => new MatrixError(ErrCode.NotFound, message);

/** Synapse's `_check_device_signature`: the uploaded copy is the stored key, and `signer`'s signature on it holds. */
function checkSignature(userId: string, signer: { keyId: string; publicKey: string }, signed: Json, stored: Json) {
  if (!canonicallyEqual(signedPart(signed), signedPart(stored))) {
    throw new MatrixError(ErrCode.Unknown, "Key does not match");
  }
  if (!signedBy(signed, userId, signer)) throw invalidSignature();
}

/** The signatures by `userId` an uploaded object carries, or an `M_INVALID_SIGNATURE` when it has none. */
function signaturesBy(signed: Json, userId: string): Record<string, unknown> {
  const signatures = signed.signatures;
  const mine = isObject(signatures) ? signatures[userId] : undefined;
  if (!isObject(mine)) throw invalidSignature();
  return mine;
}

interface Collected {
  devices: DeviceSignature[];
  keys: KeySignature[];
  failures: SignaturesUploadResponse["failures"];
}

/** Signatures of the uploader's own devices (by the self-signing key) and master key (by their devices). */
async function ownSignatures(ctx: AccountsContext, userId: string, signed: Record<string, Json>, out: Collected) {
  const { stores } = ctx;
  let selfSigning: VerifyKey | null;
  let masterKey: Json;
  let master: VerifyKey | null;
  let devices: Map<string, Json>;
  try {
    const keys = (await stores.crossSigningKeys.forUsers([userId])).get(userId) ?? {};
    if (!keys.self_signing) throw notFound(`No self_signing key found for ${userId}`);
    if (!keys.master) throw notFound(`No master key found for ${userId}`);
    selfSigning = verifyKeyOf(keys.self_signing);
    masterKey = keys.master;
    master = verifyKeyOf(keys.master);
    devices = await stores.deviceKeys.listForUser(userId);
    if (devices.size === 0) throw notFound("No device keys found");
  } catch (err) {
    if (!(err instanceof MatrixError)) throw err;
    out.failures[userId] = Object.fromEntries(Object.keys(signed).map((k) => [k, failureOf(err)]));
    return;
  }
  const already = new Set((await stores.deviceSignatures.forUser(userId)).map((s) => `${s.deviceId}\u0000${s.keyId}`));
  const storedMasterSigs = isObject(masterKey.signatures) ? masterKey.signatures[userId] : undefined;

  for (const [keyId, object] of Object.entries(signed)) {
    try {
      const sigs = signaturesBy(object, userId);
      if (master && keyId === master.name) {
        // A master key signed by the user's devices; each signature it carries must be one of theirs and hold.
        const found: KeySignature[] = [];
        for (const [signingKeyId, signature] of Object.entries(sigs)) {
          if (isObject(storedMasterSigs) && storedMasterSigs[signingKeyId] === signature) continue;
          const deviceId = signingKeyId.slice(signingKeyId.indexOf(":") + 1);
          const deviceKeys = devices.get(deviceId)?.keys;
          const publicKey = isObject(deviceKeys) ? deviceKeys[signingKeyId] : undefined;
          if (!signingKeyId.includes(":") || typeof publicKey !== "string") throw invalidSignature();
          checkSignature(userId, { keyId: signingKeyId, publicKey }, object, masterKey);
          found.push({
            signerUserId: userId,
            keyId: signingKeyId,
            targetUserId: userId,
            targetKeyId: master.name,
            signature: signature as string,
          });
        }
        out.keys.push(...found);
        continue;
      }
      if (!selfSigning || !(selfSigning.keyId in sigs)) throw invalidSignature();
      const device = devices.get(keyId);
      if (!device) throw notFound("Unknown device");
      if (already.has(`${keyId}\u0000${selfSigning.keyId}`)) continue;
      checkSignature(userId, selfSigning, object, device);
      out.devices.push({ deviceId: keyId, keyId: selfSigning.keyId, signature: sigs[selfSigning.keyId] as string });
    } catch (err) {
      if (!(err instanceof MatrixError)) throw err;
      (out.failures[userId] ??= {})[keyId] = failureOf(err);
    }
  }
}

/** Signatures of other users' master keys by the uploader's user-signing key. */
async function othersSignatures(
  ctx: AccountsContext,
  userId: string,
  signed: Record<string, Record<string, Json>>,
  out: Collected,
) {
  const { stores } = ctx;
  const failAll = (targetUser: string, keyIds: string[], err: MatrixError) => {
    const failures = (out.failures[targetUser] ??= {});
    for (const k of keyIds) failures[k] = failureOf(err);
  };
  const userSigningKey = await stores.crossSigningKeys.get(userId, "user_signing");
  const userSigning = userSigningKey ? verifyKeyOf(userSigningKey) : null;
  if (!userSigning) {
    const err = notFound(`No user_signing key found for ${userId}`);
    for (const [target, objects] of Object.entries(signed)) failAll(target, Object.keys(objects), err);
    return;
  }
  for (const [target, objects] of Object.entries(signed)) {
    const masterKey = await stores.crossSigningKeys.get(target, "master");
    const master = masterKey ? verifyKeyOf(masterKey) : null;
    if (!masterKey || !master) {
      failAll(target, Object.keys(objects), notFound(`No master key found for ${target}`));
      continue;
    }
    const object = objects[master.name];
    if (!object) {
      failAll(target, Object.keys(objects), notFound("Unknown device"));
      continue;
    }
    const others = Object.keys(objects).filter((k) => k !== master.name);
    if (others.length > 0) failAll(target, others, notFound("Unknown device"));
    try {
      const existing = await stores.crossSigningSignatures.bySigner(userId, [{ userId: target, keyId: master.name }]);
      if (existing.some((s) => s.keyId === userSigning.keyId)) continue;
      const signature = signaturesBy(object, userId)[userSigning.keyId];
      if (typeof signature !== "string") throw invalidSignature();
      checkSignature(userId, userSigning, object, masterKey);
      out.keys.push({
        signerUserId: userId,
        keyId: userSigning.keyId,
        targetUserId: target,
        targetKeyId: master.name,
        signature,
      });
    } catch (err) {
      if (!(err instanceof MatrixError)) throw err;
      failAll(target, [master.name], err);
    }
  }
}

/** The request: `{userId: {keyId: signed object}}`, anything else 400 `M_INVALID_PARAM` before anything is read. */
function parseUpload(body: Json): Record<string, Record<string, Json>> {
  for (const objects of Object.values(body)) {
    if (!isObject(objects) || !Object.values(objects).every(isObject)) {
      throw new MatrixError(ErrCode.InvalidParam, "Invalid parameter");
    }
  }
  return body as Record<string, Record<string, Json>>;
}

export async function uploadSignatures(
  ctx: AccountsContext,
  userId: string,
  body: Json,
): Promise<SignaturesUploadResponse> {
  const upload = parseUpload(body);
  const out: Collected = { devices: [], keys: [], failures: {} };
  const { [userId]: own, ...others } = upload;
  if (own && Object.keys(own).length > 0) await ownSignatures(ctx, userId, own, out);
  if (Object.keys(others).length > 0) await othersSignatures(ctx, userId, others, out);

  const changed = new Map<string, string[]>();
  for (const s of out.devices) changed.set(userId, [...(changed.get(userId) ?? []), s.deviceId]);
  // A signature of someone's master key is news of that user's keys: whoever tracks them queries them again.
  for (const s of out.keys) changed.set(s.targetUserId, [...(changed.get(s.targetUserId) ?? []), s.targetKeyId]);
  if (out.devices.length > 0 || out.keys.length > 0) {
    await inStreamTransaction(ctx.stores, async (t, writer) => {
      await t.deviceSignatures.add(userId, out.devices);
      await t.crossSigningSignatures.add(out.keys);
      for (const [user, ids] of changed) await crossSigningChanged(t, writer, user, ids);
    });
  }
  return { failures: out.failures };
}
