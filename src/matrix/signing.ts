/**
 * @module Ed25519 signing keys and signed JSON (spec "Appendices → Signing JSON"), with Node's own ed25519, and the
 * signing-key file in Synapse's format (`ed25519 <version> <unpadded base64 seed>`, one key a line), so a key file
 * moves between Synapse and Gatehouse unchanged.
 */
import { createPrivateKey, createPublicKey, randomBytes, randomInt, sign, verify, type KeyObject } from "node:crypto";
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

const VERSION_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** A new key version as Synapse names them: `a_` and four random ASCII letters (`random_string(4)`). */
export function newKeyVersion(): string {
  let out = "a_";
  for (let i = 0; i < 4; i++) out += VERSION_LETTERS.charAt(randomInt(VERSION_LETTERS.length));
  return out;
}

/** A new signing key from 32 random bytes. */
export function generateSigningKey(version: string = newKeyVersion()): SigningKey {
  return signingKeyFromSeed(version, randomBytes(32));
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

/** A key this server signed with once and no longer does: Synapse's `old_signing_keys` entry, as published. */
export interface OldVerifyKey {
  /** Unpadded Base64 of the 32-byte public key. */
  key: string;
  /** When the key stopped being used, in milliseconds since the epoch. */
  expired_ts: number;
}

/** The body of `GET /_matrix/key/v2/server` (spec server-server "Publishing Keys"). */
export interface ServerKeysResponse {
  server_name: string;
  verify_keys: Record<string, { key: string }>;
  old_verify_keys: Record<string, OldVerifyKey>;
  valid_until_ts: number;
  signatures: Signatures;
}

/**
 * This server's published keys: every current key in `verify_keys`, the old ones in `old_verify_keys`, signed by
 * each current key (as Synapse signs it), so a server that knows any one of them can check the rest.
 */
export function serverKeysResponse(
  serverName: string,
  keys: readonly SigningKey[],
  oldKeys: Readonly<Record<string, OldVerifyKey>>,
  validUntilTs: number,
): ServerKeysResponse {
  const body: Json = {
    server_name: serverName,
    verify_keys: Object.fromEntries(keys.map((k) => [k.keyId, { key: k.publicKey }])),
    old_verify_keys: Object.fromEntries(
      Object.entries(oldKeys).map(([id, k]) => [id, { key: k.key, expired_ts: k.expired_ts }]),
    ),
    valid_until_ts: validUntilTs,
  };
  let signed: Json & { signatures?: Signatures } = body;
  for (const key of keys) signed = signJson(signed, serverName, key);
  return signed as unknown as ServerKeysResponse;
}
