/**
 * @module Secrets handed to clients: access tokens in Synapse's `syt_` format, device IDs, nonces, session IDs.
 *
 * Only a SHA-256 of an access token is stored, so lookups hash the presented token first.
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { crc32 } from "node:zlib";

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export function randomString(length: number, alphabet = LETTERS): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet.charAt(randomInt(alphabet.length));
  return out;
}

function base62(n: number): string {
  let out = "";
  do {
    out = BASE62.charAt(n % 62) + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(6, "0");
}

/**
 * Synapse's token layout: `<prefix>_<base64(localpart) unpadded>_<20 letters>_<base62 crc32>`. The CRC lets a
 * typo be told from a revoked token without a database lookup.
 */
export function formatToken(prefix: "syt" | "syr", localpart: string, random = randomString(20)): string {
  const b64 = Buffer.from(localpart, "utf8").toString("base64").replace(/=+$/, "");
  const body = `${prefix}_${b64}_${random}`;
  return `${body}_${base62(crc32(Buffer.from(body, "ascii")))}`;
}

/** Synapse's shape check for refresh tokens: four parts, the prefix, and a matching CRC. */
export function hasValidChecksum(token: string, prefix: "syt" | "syr"): boolean {
  const parts = token.split("_");
  if (parts.length !== 4 || parts[0] !== prefix) return false;
  const body = parts.slice(0, 3).join("_");
  return base62(crc32(Buffer.from(body, "utf8"))) === parts[3];
}

/** `syl_<20 letters>_<crc>`, Synapse's login-token layout. */
export function generateLoginToken(random = randomString(20)): string {
  const body = `syl_${random}`;
  return `${body}_${base62(crc32(Buffer.from(body, "ascii")))}`;
}

export function generateAccessToken(localpart: string): string {
  return formatToken("syt", localpart);
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Ten upper-case letters, as Synapse generates them. */
export function generateDeviceId(): string {
  return randomString(10, UPPER);
}

/** 128 lower-case hex characters, as Synapse's `secrets.token_hex(64)`. */
export function generateNonce(): string {
  return randomBytes(64).toString("hex");
}

export function generateSessionId(): string {
  return randomString(24);
}
