/**
 * Token, device ID and nonce formats against Synapse's (§6.2, §6.3). The fixed vectors were computed with
 * Python's base64 and zlib.crc32, as Synapse computes them.
 */
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  formatToken,
  generateAccessToken,
  generateDeviceId,
  generateNonce,
  generateSessionId,
  hashToken,
  randomString,
} from "../../src/accounts/tokens.js";

const ACCESS_TOKEN_RE = /^syt_[A-Za-z0-9+/]+_[A-Za-z]{20}_[0-9A-Za-z]{6,}$/;

describe("formatToken", () => {
  it("matches Synapse's vectors", () => {
    expect(formatToken("syt", "alice", "abcdefghijklmnopqrst")).toBe("syt_YWxpY2U_abcdefghijklmnopqrst_1TMI8I");
    expect(formatToken("syt", "bob", "ABCDEFGHIJKLMNOPQRST")).toBe("syt_Ym9i_ABCDEFGHIJKLMNOPQRST_0jNSMH");
    expect(formatToken("syr", "alice", "abcdefghijklmnopqrst")).toBe("syr_YWxpY2U_abcdefghijklmnopqrst_3ycNnG");
    expect(formatToken("syt", "pepper_roni", "xxxxxxxxxxxxxxxxxxxx")).toBe(
      "syt_cGVwcGVyX3Jvbmk_xxxxxxxxxxxxxxxxxxxx_0ApbdS",
    );
  });

  it("uses standard base64 with + and /, padding stripped", () => {
    expect(formatToken("syt", "a+b/c", "abcdefghijklmnopqrst")).toBe("syt_YStiL2M_abcdefghijklmnopqrst_0SFXOY");
    expect(formatToken("syt", "??>", "abcdefghijklmnopqrst")).toBe("syt_Pz8+_abcdefghijklmnopqrst_30NUwQ");
    // "a+b/c" is 5 bytes: base64 would end in one '=', which must be gone.
    expect(formatToken("syt", "a+b/c", "abcdefghijklmnopqrst")).not.toContain("=");
  });

  it("left-pads the checksum with '0' to six characters", () => {
    // The bob vector's CRC needs only five base62 digits.
    const t = formatToken("syt", "bob", "ABCDEFGHIJKLMNOPQRST");
    expect(t.split("_")[3]).toBe("0jNSMH");
  });

  it("the checksum covers the random part", () => {
    expect(formatToken("syt", "alice", "abcdefghijklmnopqrsu")).not.toBe(
      formatToken("syt", "alice", "abcdefghijklmnopqrst"),
    );
    expect(formatToken("syt", "alice", "abcdefghijklmnopqrsu").startsWith("syt_YWxpY2U_abcdefghijklmnopqrsu_")).toBe(
      true,
    );
  });
});

describe("generateAccessToken", () => {
  it("has Synapse's shape, the user's localpart, and a checksum that matches", () => {
    for (const localpart of ["alice", "a+b/c", "pepper_roni", "x"]) {
      const token = generateAccessToken(localpart);
      expect(token).toMatch(ACCESS_TOKEN_RE);
      const [prefix, b64, random, crc] = token.split("_") as [string, string, string, string];
      expect(prefix).toBe("syt");
      expect(Buffer.from(b64, "base64").toString("utf8")).toBe(localpart);
      expect(random).toMatch(/^[A-Za-z]{20}$/);
      expect(formatToken("syt", localpart, random)).toBe(token);
      // The checksum decodes to the CRC-32 of everything before it.
      const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
      const value = [...crc].reduce((n, c) => n * 62 + alphabet.indexOf(c), 0);
      expect(value).toBe(crc32(Buffer.from(`${prefix}_${b64}_${random}`, "ascii")));
    }
  });

  it("gives a different token every time", () => {
    const tokens = new Set(Array.from({ length: 200 }, () => generateAccessToken("alice")));
    expect(tokens.size).toBe(200);
  });
});

describe("generateDeviceId", () => {
  it("is ten upper-case ASCII letters", () => {
    for (let i = 0; i < 200; i++) expect(generateDeviceId()).toMatch(/^[A-Z]{10}$/);
  });

  it("is random", () => {
    expect(new Set(Array.from({ length: 200 }, generateDeviceId)).size).toBe(200);
  });
});

describe("generateNonce", () => {
  it("is 128 lower-case hex characters", () => {
    for (let i = 0; i < 50; i++) expect(generateNonce()).toMatch(/^[0-9a-f]{128}$/);
  });

  it("is random", () => {
    expect(new Set(Array.from({ length: 100 }, generateNonce)).size).toBe(100);
  });
});

describe("generateSessionId and randomString", () => {
  it("session IDs are 24 ASCII letters", () => {
    for (let i = 0; i < 50; i++) expect(generateSessionId()).toMatch(/^[A-Za-z]{24}$/);
  });

  it("randomString keeps to its alphabet and length", () => {
    expect(randomString(0)).toBe("");
    expect(randomString(64, "xy")).toMatch(/^[xy]{64}$/);
    // Both letters of a two-letter alphabet turn up in 64 draws (a failure here is a 2^-63 event).
    expect(new Set(randomString(64, "xy")).size).toBe(2);
  });
});

describe("hashToken", () => {
  it("is the SHA-256 of the token, in lower-case hex", () => {
    expect(hashToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hashToken("syt_YWxpY2U_abcdefghijklmnopqrst_1TMI8I")).toBe(
      "a5b4822222079dd3661c95bf7e7ee523b725b680df185888bef2157a9cae8340",
    );
    expect(hashToken("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("hashes the UTF-8 bytes", () => {
    expect(hashToken("❄")).toBe(
      createHash("sha256")
        .update(Buffer.from([0xe2, 0x9d, 0x84]))
        .digest("hex"),
    );
  });

  it("tokens differing in one character hash differently", () => {
    expect(hashToken("syt_a")).not.toBe(hashToken("syt_b"));
  });
});
