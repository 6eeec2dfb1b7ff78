/**
 * @module Ed25519 signing keys and signed JSON (spec "Appendices → Signing JSON"), with Node's own ed25519, and the
 * signing-key file in Synapse's format (`ed25519 <version> <unpadded base64 seed>`, one key a line), so a key file
 * moves between Synapse and Gatehouse unchanged.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { decodeBase64, encodeUnpaddedBase64 } from "./base64.js";
import { canonicalJsonBytes } from "./canonical-json.js";

/** RFC 8410's PKCS#8 wrapping of a 32-byte Ed25519 seed, so Node can take a raw seed as a private key. */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
/** The SubjectPublicKeyInfo wrapping of a 32-byte Ed25519 public key. */
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export class SigningKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SigningKeyError";
  }
}

export interface SigningKey {
  /** `ed25519:<version>`, as it appears in `signatures` and `/_matrix/key/v2/server`. */
  keyId: string;
  /** Unpadded Base64 of the 32-byte public key. */
  publicKey: string;
  /** Signs bytes; the seed never leaves this closure. */
  sign(data: Uint8Array): Buffer;
  /** The key-file line, for writing the key out once; nothing else should print it. */
  toFileLine(): string;
}

export function signingKeyFromSeed(version: string, seed: Uint8Array): SigningKey {
  if (seed.length !== 32) throw new SigningKeyError(`an ed25519 seed is 32 bytes, not ${seed.length}`);
  if (!/^[A-Za-z0-9_]+$/.test(version)) throw new SigningKeyError(`key version "${version}" is not [A-Za-z0-9_]+`);
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const seedText = encodeUnpaddedBase64(seed);
  return {
    keyId: `ed25519:${version}`,
    publicKey: encodeUnpaddedBase64(spki.subarray(SPKI_ED25519_PREFIX.length)),
    sign: (data) => sign(null, data, privateKey),
    toFileLine: () => `ed25519 ${version} ${seedText}`,
  };
}

/** Reads a Synapse signing-key file: one or more `ed25519 <version> <seed>` lines; blank lines are skipped. */
export function parseSigningKeyFile(text: string): SigningKey[] {
  const keys: SigningKey[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const parts = line.split(/\s+/);
    if (parts.length !== 3 || parts[0] !== "ed25519") {
      throw new SigningKeyError(`line ${i + 1}: expected "ed25519 <version> <base64 seed>"`);
    }
    const seed = decodeBase64(parts[2]!);
    if (!seed) throw new SigningKeyError(`line ${i + 1}: the seed is not Base64`);
    keys.push(signingKeyFromSeed(parts[1]!, seed));
  });
  if (keys.length === 0) throw new SigningKeyError("no key in the file");
  return keys;
}

type Json = Record<string, unknown>;

/** The bytes a signature covers: the object without `signatures` and `unsigned`, as canonical JSON. */
function signedBytes(object: Json): Buffer {
  const { signatures: _signatures, unsigned: _unsigned, ...rest } = object;
  return canonicalJsonBytes(rest);
}

/**
 * Returns `object` with this server's signature added under `signatures[serverName][keyId]`, keeping signatures
 * already there (from other servers or keys).
 */
export type Signatures = Record<string, Record<string, string>>;

export function signJson<T extends Json>(
  object: T,
  serverName: string,
  key: SigningKey,
): T & { signatures: Signatures } {
  const signature = encodeUnpaddedBase64(key.sign(signedBytes(object)));
  const existing = (object.signatures ?? {}) as Signatures;
  return {
    ...object,
    signatures: { ...existing, [serverName]: { ...existing[serverName], [key.keyId]: signature } },
  };
}

/** Whether `object` carries a valid signature by `serverName` with the given public key (unpadded Base64). */
export function verifyJsonSignature(object: Json, serverName: string, keyId: string, publicKey: string): boolean {
  const signatures = object.signatures as Record<string, Record<string, unknown>> | undefined;
  const signature = signatures?.[serverName]?.[keyId];
  if (typeof signature !== "string") return false;
  const sig = decodeBase64(signature);
  const raw = decodeBase64(publicKey);
  if (!sig || raw?.length !== 32) return false;
  const keyObject: KeyObject = createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, raw]),
    format: "der",
    type: "spki",
  });
  return verify(null, signedBytes(object), keyObject, sig);
}
