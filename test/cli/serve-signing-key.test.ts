/**
 * `gatehouse serve` and the signing key, through the built CLI: a config with no key file gets one on first start
 * (Synapse's place and format, mode 0600), kept across restarts; a key file it cannot use stops the start in one
 * line, exit 2, before the database is touched.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSigningKeyFile, verifyJsonSignature } from "../../src/matrix/signing.js";
import { STACK_LINE } from "../helpers/cli-tools.js";
import { tempDir } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { SHARED_SECRET, spawnServer, writeConfigFile } from "../helpers/server.js";
import type { RawConfig } from "../../src/config/validate.js";
import { runRefusedServe } from "./in-process.js";

function configIn(dir: string, overrides: RawConfig = {}): string {
  return writeConfigFile(
    {
      server_name: "keys.example",
      listeners: [
        { port: 0, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client", "federation"] }] },
      ],
      database: { name: "sqlite3", args: { database: join(dir, "homeserver.db") } },
      registration_shared_secret: SHARED_SECRET,
      log_level: "info",
      ...overrides,
    },
    dir,
  );
}

async function publishedKeyIds(url: string): Promise<string[]> {
  const r = await call(url, "GET", "/_matrix/key/v2/server");
  expect(r.status).toBe(200);
  return Object.keys(r.body.verify_keys as Record<string, unknown>);
}

describe.concurrent("gatehouse serve and the signing key", () => {
  it("creates <server_name>.signing.key next to the config on first start (0600), logs it, and keeps it", async () => {
    const dir = tempDir();
    const config = configIn(dir);
    const keyPath = join(dir, "keys.example.signing.key");
    expect(existsSync(keyPath)).toBe(false);

    const first = await spawnServer(["-c", config]);
    let keyId: string;
    try {
      expect(statSync(keyPath).mode & 0o777).toBe(0o600);
      const [key] = parseSigningKeyFile(readFileSync(keyPath, "utf8"));
      keyId = key!.keyId;
      expect(keyId).toMatch(/^ed25519:a_[A-Za-z]{4}$/);
      const r = await call(first.url, "GET", "/_matrix/key/v2/server");
      expect(r.body.verify_keys).toEqual({ [keyId]: { key: key!.publicKey } });
      expect(verifyJsonSignature(r.body, "keys.example", keyId, key!.publicKey)).toBe(true);
      // The log says so once, at info, naming the file; the key itself is never printed.
      const logged = first
        .stdout()
        .split("\n")
        .filter((l) => l.includes("generated a new signing key"));
      expect(logged).toHaveLength(1);
      expect(JSON.parse(logged[0]!)).toMatchObject({ signing_key_path: keyPath, key_id: keyId });
      expect(first.stdout() + first.stderr()).not.toContain(readFileSync(keyPath, "utf8").split(" ")[2]!.trim());
    } finally {
      expect(await first.stop()).toBe(0);
    }

    const key = readFileSync(keyPath, "utf8");
    const again = await spawnServer(["-c", config]);
    try {
      expect(await publishedKeyIds(again.url)).toEqual([keyId]);
      expect(again.stdout()).not.toContain("generated a new signing key");
    } finally {
      expect(await again.stop()).toBe(0);
    }
    expect(readFileSync(keyPath, "utf8")).toBe(key);
  });

  it("uses the key file signing_key_path names, as it is (a Synapse key file works unchanged)", async () => {
    const dir = tempDir();
    const keyPath = join(dir, "synapse.signing.key");
    // Synapse's write_signing_keys: one "ed25519 <version> <seed>" line.
    writeFileSync(keyPath, "ed25519 a_SyNa YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0\n", { mode: 0o600 });
    const server = await spawnServer(["-c", configIn(dir, { signing_key_path: keyPath })]);
    try {
      expect(await publishedKeyIds(server.url)).toEqual(["ed25519:a_SyNa"]);
      expect(existsSync(join(dir, "keys.example.signing.key"))).toBe(false);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it.each([
    [
      "a malformed",
      "ed25519 a_AbCd\n",
      (p: string) => `${p} is not a signing-key file: line 1: expected "ed25519 <version> <base64 seed>"`,
    ],
    ["an empty", "", (p: string) => `${p} is not a signing-key file: no key in the file`],
  ])("refuses %s key file in one line, exit 2, and opens no database", async (_what, text, reason) => {
    const dir = tempDir();
    const keyPath = join(dir, "keys.example.signing.key");
    writeFileSync(keyPath, text, { mode: 0o600 });
    const r = await runRefusedServe(["-c", configIn(dir)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: signing_key_path: ${reason(keyPath)}\n`);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stdout).toBe("");
    expect(existsSync(join(dir, "homeserver.db"))).toBe(false);
    expect(readFileSync(keyPath, "utf8")).toBe(text);
  });

  it("refuses a key path it cannot create in one line, exit 2", async () => {
    const dir = tempDir();
    const keyPath = join(dir, "missing-dir", "k.key");
    const r = await runRefusedServe(["-c", configIn(dir, { signing_key_path: keyPath })]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: signing_key_path: cannot create ${keyPath}: no such file\n`);
  });
});
