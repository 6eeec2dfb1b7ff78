/**
 * @module The two unpadded Base64 forms Matrix uses: standard (hashes, signatures, keys) and URL-safe (event IDs
 * of room versions 4 and later). Node's encoder pads and its decoder accepts either alphabet, so both need care.
 */

export function encodeUnpaddedBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64").replace(/=+$/, "");
}

export function encodeUrlSafeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes standard Base64, padded or not (the spec says decoders should accept both). Returns null for anything
 * else, including a length no encoder produces, rather than the partial bytes Node would return.
 */
export function decodeBase64(text: string): Buffer | null {
  if (!STANDARD.test(text)) return null;
  const bare = text.replace(/=+$/, "");
  if (bare.length % 4 === 1) return null;
  if (text.length !== bare.length && text.length % 4 !== 0) return null;
  return Buffer.from(bare, "base64");
}
