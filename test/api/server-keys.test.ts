/**
 * `GET /_matrix/key/v2/server` over real HTTP: the keys of the `signing_key_path` file and `old_signing_keys`,
 * signed by the key itself, in the shape of the spec's server-server schema, on the listeners Synapse serves it on.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redactEvent } from "../../src/matrix/redaction.js";
import { roomVersion } from "../../src/matrix/room-versions.js";
import { generateSigningKey, verifyJsonSignature } from "../../src/matrix/signing.js";
import { createTestDatabase, tempDir } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { expectSpecSchema } from "../helpers/openapi.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { registerUser } from "./sync-support.js";
import { createRoom } from "../rooms/support.js";

const KEYS_SCHEMA = "server-server/definitions/keys.yaml";
const listener = (names: string[]) => ({
  port: 0,
  bind_addresses: ["127.0.0.1"],
  type: "http",
  resources: [{ names }],
});

describe("the server's published keys", () => {
  const key = generateSigningKey();
  const old = { "ed25519:0ldK3y": { key: generateSigningKey().publicKey, expired_ts: 1532645052628 } };
  let server: TestServer;
  let clientOnly: string, federation: string, keysOnly: string;

  beforeAll(async () => {
    const keyPath = join(tempDir(), "example.org.signing.key");
    writeFileSync(keyPath, `${key.toFileLine()}\n`, { mode: 0o600 });
    server = await startTestServer(await createTestDatabase("sqlite"), {
      server_name: "example.org",
      listeners: [listener(["client"]), listener(["federation"]), listener(["keys"])],
      signing_key_path: keyPath,
      old_signing_keys: old,
      key_refresh_interval: "2h",
      enable_registration: true,
      enable_registration_without_verification: true,
    });
    [clientOnly, federation, keysOnly] = server.server.addresses.map((a) => a.url) as [string, string, string];
  });
  afterAll(() => server.close());

  it("are the key file's, with the old keys and valid_until_ts now + key_refresh_interval, signed by the key", async () => {
    const before = Date.now();
    const r = await call(federation, "GET", "/_matrix/key/v2/server");
    const after = Date.now();
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    await expectSpecSchema(KEYS_SCHEMA, r.body);
    // (The schema does check: without its signatures the body is refused.)
    const { signatures: _s, ...unsigned } = r.body;
    await expect(expectSpecSchema(KEYS_SCHEMA, unsigned)).rejects.toThrow(/signatures/);
    expect(r.body).toEqual({
      server_name: "example.org",
      verify_keys: { [key.keyId]: { key: key.publicKey } },
      old_verify_keys: old,
      valid_until_ts: expect.any(Number),
      signatures: { "example.org": { [key.keyId]: expect.stringMatching(/^[A-Za-z0-9+/]{86}$/) } },
    });
    const validUntil = r.body.valid_until_ts as number;
    expect(validUntil).toBeGreaterThanOrEqual(before + 2 * 3_600_000);
    expect(validUntil).toBeLessThanOrEqual(after + 2 * 3_600_000);
    // What a remote server does with it: check the signature against the key the response itself publishes.
    expect(verifyJsonSignature(r.body, "example.org", key.keyId, key.publicKey)).toBe(true);
    expect(
      verifyJsonSignature({ ...r.body, valid_until_ts: validUntil + 1 }, "example.org", key.keyId, key.publicKey),
    ).toBe(false);
  });

  it("are what the services sign with (AccountsContext.signingKey)", () => {
    expect(server.server.accounts.signingKey.keyId).toBe(key.keyId);
    expect(server.server.accounts.signingKey.publicKey).toBe(key.publicKey);
    expect(server.server.accounts.signingKeys.map((k) => k.keyId)).toEqual([key.keyId]);
  });

  it("sign the events the server makes: a new room's events verify with the published key", async () => {
    const alice = await registerUser(clientOnly, "alice");
    const roomId = await createRoom(clientOnly, alice, { name: "Signed" });
    const published = await call(federation, "GET", "/_matrix/key/v2/server");
    const [keyId, { key: publicKey }] = Object.entries(
      published.body.verify_keys as Record<string, { key: string }>,
    )[0]!;
    const stored = await server.server.accounts.stores.events.window(roomId, { dir: "f", limit: 50 });
    expect(stored.length).toBeGreaterThan(3);
    // An event's signature covers its redacted form (spec "Signing events").
    const v = roomVersion(server.server.rooms.defaultRoomVersion)!;
    for (const event of stored) {
      expect(verifyJsonSignature(redactEvent(event.pdu, v), "example.org", keyId, publicKey), event.type).toBe(true);
    }
  });

  it("are the same at the deprecated /server/{keyId}, whatever the key ID, and on a `keys` listener", async () => {
    for (const [base, path] of [
      [federation, `/_matrix/key/v2/server/${encodeURIComponent(key.keyId)}`],
      [federation, "/_matrix/key/v2/server/ed25519:unknown"],
      [keysOnly, "/_matrix/key/v2/server"],
    ] as const) {
      const r = await call(base, "GET", path);
      expect(r.status, path).toBe(200);
      expect(r.body.verify_keys).toEqual({ [key.keyId]: { key: key.publicKey } });
      expect(verifyJsonSignature(r.body, "example.org", key.keyId, key.publicKey)).toBe(true);
    }
  });

  it("are not served on a listener with only the client resource, as in Synapse", async () => {
    const r = await call(clientOnly, "GET", "/_matrix/key/v2/server");
    expect([r.status, r.body]).toEqual([404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" }]);
  });
});

describe("a test server with no key file configured", () => {
  it("signs with a key of its own, made in memory, and publishes it", async () => {
    const server = await startTestServer(await createTestDatabase("sqlite"), {
      listeners: [listener(["client", "federation"])],
    });
    try {
      expect(server.server.config.signing_key_path).toBeNull();
      const { signingKey } = server.server.accounts;
      const r = await call(server.url, "GET", "/_matrix/key/v2/server");
      await expectSpecSchema(KEYS_SCHEMA, r.body);
      expect(r.body.verify_keys).toEqual({ [signingKey.keyId]: { key: signingKey.publicKey } });
      expect(r.body.old_verify_keys).toEqual({});
      expect(verifyJsonSignature(r.body, "localhost", signingKey.keyId, signingKey.publicKey)).toBe(true);
    } finally {
      await server.close();
    }
  });
});
