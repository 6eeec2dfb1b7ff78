/**
 * The signing-key settings (`signing_key_path`, `old_signing_keys`, `key_refresh_interval`) as Synapse reads them,
 * and the key file itself: read, created 0600 and never replaced, with one-line errors naming the file.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import {
  createSigningKeyFile,
  loadOrCreateSigningKeys,
  readSigningKeys,
  SigningKeyFileError,
} from "../../src/config/signing-key.js";
import { ConfigError, formatProblem, type RawConfig } from "../../src/config/validate.js";
import { generateSigningKey } from "../../src/matrix/signing.js";
import { tempDir } from "../helpers/databases.js";
import { SHARED_SECRET, writeConfigFile } from "../helpers/server.js";

function base(dir: string, overrides: RawConfig = {}): RawConfig {
  return {
    server_name: "example.org",
    database: { name: "sqlite3", args: { database: join(dir, "homeserver.db") } },
    registration_shared_secret: SHARED_SECRET,
    ...overrides,
  };
}

function problemsOf(paths: string[]): string[] {
  try {
    loadConfig(paths);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem);
    throw err;
  }
  return [];
}

const KEY_LINE = /^ed25519 a_[A-Za-z]{4} [A-Za-z0-9+/]{43}\n$/;

describe.concurrent("signing_key_path", () => {
  it("defaults to <server_name>.signing.key in the directory of the last config file, as Synapse's does", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "secrets"));
    const main = writeConfigFile(base(dir), dir, "homeserver.yaml");
    expect(loadConfig([main]).config.signing_key_path).toBe(join(dir, "example.org.signing.key"));
    const extra = writeConfigFile({ log_level: "warn" }, join(dir, "secrets"), "extra.yaml");
    expect(loadConfig([main, extra]).config.signing_key_path).toBe(join(dir, "secrets", "example.org.signing.key"));
    // A directory of files: its last *.yaml is the last file.
    expect(loadConfig([join(dir, "secrets"), main]).config.signing_key_path).toBe(join(dir, "example.org.signing.key"));
  });

  it("takes a path as given, a relative one from the working directory", () => {
    const dir = tempDir();
    const abs = writeConfigFile(base(dir, { signing_key_path: "/etc/gatehouse/k.key" }), dir);
    expect(loadConfig([abs]).config.signing_key_path).toBe("/etc/gatehouse/k.key");
    const rel = writeConfigFile(
      base(dir, { signing_key_path: relative(process.cwd(), join(dir, "k.key")) }),
      tempDir(),
    );
    expect(loadConfig([rel]).config.signing_key_path).toBe(join(dir, "k.key"));
  });

  it("refuses an inline signing_key and a path that is not a string, with file and key", () => {
    const dir = tempDir();
    const path = writeConfigFile(
      base(dir, { signing_key: generateSigningKey().toFileLine(), signing_key_path: ["a"] }),
      dir,
    );
    expect(problemsOf([path])).toEqual([
      `${path}: signing_key: an inline signing key is not supported; put the key line in a file of its own ` +
        "(chmod 600) and point signing_key_path at it",
      `${path}: signing_key_path: must be a string (got a list)`,
    ]);
  });
});

describe.concurrent("old_signing_keys and key_refresh_interval", () => {
  it("reads Synapse's keys as a Synapse config carries them, with no warning", () => {
    const dir = tempDir();
    const old = generateSigningKey("0ldK3y").publicKey;
    const path = writeConfigFile(
      base(dir, {
        old_signing_keys: { "ed25519:0ldK3y": { key: old, expired_ts: 1532645052628 } },
        key_refresh_interval: "2h",
      }),
      dir,
    );
    const { config, warnings } = loadConfig([path]);
    expect(warnings).toEqual([]);
    expect(config.old_signing_keys).toEqual({ "ed25519:0ldK3y": { key: old, expired_ts: 1532645052628 } });
    expect(config.key_refresh_interval).toBe(2 * 3_600_000);
  });

  it("defaults to no old keys and one day; Synapse's generated `old_signing_keys: {}` is the same", () => {
    const dir = tempDir();
    const config = loadConfig([writeConfigFile(base(dir, { old_signing_keys: {} }), dir)]).config;
    expect(config.old_signing_keys).toEqual({});
    expect(config.key_refresh_interval).toBe(86_400_000);
    expect(
      loadConfig([writeConfigFile(base(dir, { old_signing_keys: null }), tempDir())]).config.old_signing_keys,
    ).toEqual({});
  });

  it("reports every malformed old key and interval", () => {
    const dir = tempDir();
    const path = writeConfigFile(
      base(dir, {
        old_signing_keys: {
          "rsa:1": { key: "x", expired_ts: 1 },
          "ed25519:short": { key: "AAAA", expired_ts: 1 },
          "ed25519:noexpiry": { key: generateSigningKey().publicKey },
          "ed25519:list": [],
        },
        key_refresh_interval: "soon",
      }),
      dir,
    );
    expect(problemsOf([path])).toEqual([
      `${path}: old_signing_keys.rsa:1: must be an ed25519 key ID, ed25519:<version> (Synapse: unsupported signing algorithm)`,
      `${path}: old_signing_keys.ed25519:short.key: must be the Base64 of a 32-byte ed25519 public key`,
      `${path}: old_signing_keys.ed25519:noexpiry.expired_ts: is required: when the key stopped being used, in milliseconds since the epoch`,
      `${path}: old_signing_keys.ed25519:list: must be a mapping with key and expired_ts (got a list)`,
      `${path}: key_refresh_interval: must be a duration such as 5m, 24h or 7d, or a number of milliseconds (got "soon")`,
    ]);
  });
});

describe.concurrent("the key file", () => {
  it("is created 0600 in Synapse's format, and read back as the same key", () => {
    const path = join(tempDir(), "example.org.signing.key");
    const made = loadOrCreateSigningKeys(path);
    expect(made.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, "utf8");
    expect(text).toMatch(KEY_LINE);
    expect(text).toBe(`${made.keys[0]!.toFileLine()}\n`);
    const again = loadOrCreateSigningKeys(path);
    expect(again.created).toBe(false);
    expect(again.keys.map((k) => [k.keyId, k.publicKey])).toEqual(made.keys.map((k) => [k.keyId, k.publicKey]));
  });

  it("is never replaced: an existing file is kept whatever it holds, and no temporary file is left", () => {
    const dir = tempDir();
    const path = join(dir, "k.key");
    writeFileSync(path, "not a key\n", { mode: 0o644 });
    expect(createSigningKeyFile(path)).toBeNull();
    expect(readFileSync(path, "utf8")).toBe("not a key\n");
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir)).toEqual(["k.key"]);
  });

  it("is created once when many ask at once", () => {
    const path = join(tempDir(), "k.key");
    const made = Array.from({ length: 8 }, () => createSigningKeyFile(path)).filter((k) => k !== null);
    expect(made).toHaveLength(1);
    expect(readSigningKeys(path)[0]!.publicKey).toBe(made[0]!.publicKey);
  });

  it("is read from a directory the server cannot write to", (ctx) => {
    if (process.getuid?.() === 0) return ctx.skip("root writes anywhere");
    const dir = tempDir();
    const path = join(dir, "k.key");
    writeFileSync(path, `${generateSigningKey().toFileLine()}\n`, { mode: 0o600 });
    chmodSync(dir, 0o500);
    try {
      expect(loadOrCreateSigningKeys(path).created).toBe(false);
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it.each([
    ["empty", "", "no key in the file"],
    [
      "Synapse's pre-2015 bare seed",
      "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\n",
      'line 1: expected "ed25519 <version> <base64 seed>"',
    ],
    ["a short seed", "ed25519 a_AbCd AAAA\n", "an ed25519 seed is 32 bytes, not 3"],
  ])("refuses a malformed file (%s) in one line naming it", (_what, text, reason) => {
    const path = join(tempDir(), "k.key");
    writeFileSync(path, text, { mode: 0o600 });
    expect(() => loadOrCreateSigningKeys(path)).toThrow(SigningKeyFileError);
    expect(() => loadOrCreateSigningKeys(path)).toThrow(
      `signing_key_path: ${path} is not a signing-key file: ${reason}`,
    );
  });

  it("says why it cannot create or read one", () => {
    const missingDir = join(tempDir(), "nowhere", "k.key");
    expect(() => loadOrCreateSigningKeys(missingDir)).toThrow(
      `signing_key_path: cannot create ${missingDir}: no such file`,
    );
    const dangling = join(tempDir(), "k.key");
    symlinkSync(join(tempDir(), "gone"), dangling);
    expect(() => loadOrCreateSigningKeys(dangling)).toThrow(`signing_key_path: cannot read ${dangling}: no such file`);
    expect(existsSync(dangling)).toBe(false);
  });

  it("warns, as for the shared secret, when others can read it", () => {
    const dir = tempDir();
    const key = join(dir, "k.key");
    writeFileSync(key, `${generateSigningKey().toFileLine()}\n`, { mode: 0o640 });
    chmodSync(key, 0o640);
    const { warnings } = loadConfig([writeConfigFile(base(dir, { signing_key_path: key }), dir)]);
    expect(warnings.map(formatProblem)).toEqual([
      `${key}: signing_key_path: the signing key is readable by group or others; anyone who reads it can sign as ` +
        `this server. Run: chmod 600 ${key}`,
    ]);
  });
});
