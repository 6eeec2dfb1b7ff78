import { describe, expect, it } from "vitest";
import { decodeBase64 } from "../../src/matrix/base64.js";
import { contentHash, eventIdFor, hashAndSign, referenceHash } from "../../src/matrix/hashes.js";
import { roomVersion } from "../../src/matrix/room-versions.js";
import {
  generateSigningKey,
  newKeyVersion,
  parseSigningKeyFile,
  serverKeysResponse,
  signingKeyFromSeed,
  signJson,
  SigningKeyError,
  verifyJsonSignature,
} from "../../src/matrix/signing.js";

// Spec "Appendices → Signing JSON → Examples" and "Signing details → Examples": seed, server name and key ID.
const SEED = decodeBase64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1")!;
const key = signingKeyFromSeed("1", SEED);

describe("signing JSON (spec examples)", () => {
  it("signs {}", () => {
    expect(signJson({}, "domain", key)).toEqual({
      signatures: {
        domain: {
          "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ",
        },
      },
    });
  });

  it("signs a small object, ignoring unsigned", () => {
    const signed = signJson({ one: 1, two: "Two", unsigned: { age_ts: 5 } }, "domain", key);
    expect(signed.signatures).toEqual({
      domain: {
        "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw",
      },
    });
    expect(verifyJsonSignature(signed, "domain", "ed25519:1", key.publicKey)).toBe(true);
    expect(verifyJsonSignature({ ...signed, two: "three" }, "domain", "ed25519:1", key.publicKey)).toBe(false);
    expect(verifyJsonSignature(signed, "other", "ed25519:1", key.publicKey)).toBe(false);
  });

  it("keeps other servers' signatures", () => {
    const signed = signJson({ signatures: { elsewhere: { "ed25519:x": "abc" } } }, "domain", key);
    expect(Object.keys(signed.signatures)).toEqual(["elsewhere", "domain"]);
  });
});

describe("event hashes and signatures (spec examples)", () => {
  const v1 = roomVersion("1")!;

  it("the minimal event", () => {
    const event = {
      room_id: "!x:domain",
      sender: "@a:domain",
      origin: "domain",
      origin_server_ts: 1000000,
      signatures: {},
      hashes: {},
      type: "X",
      content: {},
      prev_events: [],
      auth_events: [],
      depth: 3,
      unsigned: { age_ts: 1000000 },
    };
    expect(contentHash(event)).toBe("5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos");
    const signed = hashAndSign(event, v1, "domain", key);
    expect(signed.hashes).toEqual({ sha256: "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos" });
    expect(signed.signatures).toEqual({
      domain: {
        "ed25519:1": "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg",
      },
    });
  });

  it("an event with content: the hash covers the body, the signature does not", () => {
    const event = {
      content: { body: "Here is the message content" },
      event_id: "$0:domain",
      origin: "domain",
      origin_server_ts: 1000000,
      type: "m.room.message",
      room_id: "!r:domain",
      sender: "@u:domain",
      signatures: {},
      unsigned: { age_ts: 1000000 },
    };
    const signed = hashAndSign(event, v1, "domain", key);
    expect(signed.hashes).toEqual({ sha256: "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g" });
    expect(signed.signatures).toEqual({
      domain: {
        "ed25519:1": "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA",
      },
    });
  });

  it("event IDs: URL-safe from v4, standard in v3, none derived in v1", () => {
    const event = { type: "m.room.message", content: { body: "a/b?" }, room_id: "!r:d", sender: "@u:d", depth: 1 };
    const v3 = roomVersion("3")!;
    const v11 = roomVersion("11")!;
    const id11 = eventIdFor(event, v11);
    expect(id11).toMatch(/^\$[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(id11.slice(1), "base64url")).toEqual(referenceHash(event, v11));
    expect(eventIdFor(event, v3)).toMatch(/^\$[A-Za-z0-9+/]{43}$/);
    expect(() => eventIdFor(event, v1)).toThrow();
    // The ID names the redacted event: a body change keeps it, an unsigned change too.
    expect(eventIdFor({ ...event, content: { body: "other" }, unsigned: { x: 1 } }, v11)).toBe(id11);
    expect(eventIdFor({ ...event, depth: 2 }, v11)).not.toBe(id11);
  });
});

describe("signing-key files (Synapse's format)", () => {
  it("reads what it writes, and the key signs the same", () => {
    const line = signingKeyFromSeed("a_AbCd", SEED).toFileLine();
    // The spec's seed text sets unused trailing bits ("…XA1"); written back it is the canonical "…XA0".
    expect(line).toBe("ed25519 a_AbCd YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0");
    const [read] = parseSigningKeyFile(`${line}\n\n`);
    expect(read!.keyId).toBe("ed25519:a_AbCd");
    expect(read!.publicKey).toBe(key.publicKey);
  });

  it.each([
    ["", /no key/],
    ["ed25519 a_x", /line 1/],
    ["rsa a_x YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1", /line 1/],
    ["ed25519 a_x not*base64", /not Base64/],
    ["ed25519 a_x AAAA", /32 bytes/],
    ["ed25519 a:x YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1", /version/],
  ])("refuses %j", (text, message) => {
    expect(() => parseSigningKeyFile(text)).toThrow(SigningKeyError);
    expect(() => parseSigningKeyFile(text)).toThrow(message);
  });
});

describe("new keys and the published key response", () => {
  it("names a new key as Synapse does (a_ and four letters) and signs with it", () => {
    const fresh = generateSigningKey();
    expect(fresh.keyId).toMatch(/^ed25519:a_[A-Za-z]{4}$/);
    expect(fresh.publicKey).toMatch(/^[A-Za-z0-9+/]{43}$/);
    const [read] = parseSigningKeyFile(fresh.toFileLine());
    expect(read!.publicKey).toBe(fresh.publicKey);
    expect(new Set(Array.from({ length: 20 }, () => newKeyVersion())).size).toBeGreaterThan(1);
  });

  it("publishes every key, the old ones with their expiry, signed by each current key", () => {
    const second = generateSigningKey("b_Xy");
    const old = { "ed25519:0ldK3y": { key: generateSigningKey().publicKey, expired_ts: 1532645052628 } };
    const body = serverKeysResponse("example.org", [key, second], old, 1_700_000_000_000);
    expect(body).toEqual({
      server_name: "example.org",
      verify_keys: { "ed25519:1": { key: key.publicKey }, "ed25519:b_Xy": { key: second.publicKey } },
      old_verify_keys: old,
      valid_until_ts: 1_700_000_000_000,
      signatures: { "example.org": { "ed25519:1": expect.any(String), "ed25519:b_Xy": expect.any(String) } },
    });
    expect(verifyJsonSignature({ ...body }, "example.org", "ed25519:1", key.publicKey)).toBe(true);
    expect(verifyJsonSignature({ ...body }, "example.org", "ed25519:b_Xy", second.publicKey)).toBe(true);
    expect(verifyJsonSignature({ ...body, valid_until_ts: 1 }, "example.org", "ed25519:1", key.publicKey)).toBe(false);
  });
});
