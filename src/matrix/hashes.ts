/**
 * @module Event hashes (spec "Server-Server API → Signing events"): the content hash every PDU carries in
 * `hashes.sha256`, the reference hash that names events from room version 3 on, and the signature over the
 * redacted event.
 */
import { createHash } from "node:crypto";
import { encodeUnpaddedBase64, encodeUrlSafeBase64 } from "./base64.js";
import { canonicalJsonBytes } from "./canonical-json.js";
import { redactEvent } from "./redaction.js";
import type { RoomVersion } from "./room-versions.js";
import { signJson, type SigningKey } from "./signing.js";

type Json = Record<string, unknown>;

function sha256(bytes: Uint8Array): Buffer {
  return createHash("sha256").update(bytes).digest();
}

/** `hashes.sha256`: over the event without `unsigned`, `signatures` and `hashes`. */
export function contentHash(event: Json): string {
  const { unsigned: _u, signatures: _s, hashes: _h, ...rest } = event;
  return encodeUnpaddedBase64(sha256(canonicalJsonBytes(rest)));
}

/** The reference hash: over the redacted event without `signatures`, `unsigned` (and `age_ts`). */
export function referenceHash(event: Json, v: RoomVersion): Buffer {
  const { signatures: _s, unsigned: _u, age_ts: _a, ...rest } = redactEvent(event, v);
  return sha256(canonicalJsonBytes(rest));
}

/** The event ID of a PDU in a room version that derives it from the reference hash (3 and later). */
export function eventIdFor(event: Json, v: RoomVersion): string {
  if (v.eventIdFormat === "server-scoped") {
    throw new Error(`room version ${v.id} does not derive event IDs from hashes`);
  }
  const hash = referenceHash(event, v);
  return `$${v.eventIdFormat === "base64" ? encodeUnpaddedBase64(hash) : encodeUrlSafeBase64(hash)}`;
}

/** The `signatures` a server adds to its PDU: its signature over the redacted event, added to those present. */
export function signEvent(event: Json, v: RoomVersion, serverName: string, key: SigningKey): Json {
  const signed = signJson(redactEvent(event, v), serverName, key);
  return { ...event, signatures: signed.signatures };
}

/**
 * A new PDU completed for sending: its content hash, then its signature (which covers the hash), in that order
 * because the signature is over the redacted event, which keeps `hashes`.
 */
export function hashAndSign(event: Json, v: RoomVersion, serverName: string, key: SigningKey): Json {
  const hashed = { ...event, hashes: { sha256: contentHash(event) } };
  return signEvent(hashed, v, serverName, key);
}
