/**
 * Start-up checks of `gatehouse serve` beyond the shape of the config: a shared secret others can read is warned
 * about (pointing at registration_shared_secret_path as the fix), and the server_name is recorded in the database on
 * first start so a later start with another name is refused.
 */
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { STACK_LINE, withStores, writeTemp } from "../helpers/cli-tools.js";
import { createTestDatabase, forEachDatabase, tempDir } from "../helpers/databases.js";
import { rawConfigFor, SHARED_SECRET, writeConfigFile } from "../helpers/server.js";
import type { RawConfig } from "../../src/config/validate.js";
import { runRefusedServe, startServeInProcess } from "../cli/in-process.js";

/**
 * Starts `serve -c …` (in this process: the checks are the command's, not the process's), returns what it printed
 * on stderr by the time it listens, and stops it.
 */
async function startupStderr(configs: string[]): Promise<string> {
  const server = await startServeInProcess(configs.flatMap((c) => ["-c", c]));
  try {
    return server.stderr();
  } finally {
    expect(await server.stop()).toBe(0);
  }
}

async function sqliteRaw(overrides: RawConfig = {}): Promise<RawConfig> {
  return rawConfigFor(await createTestDatabase("sqlite"), overrides);
}

function configWithMode(raw: RawConfig, mode: number, dir = tempDir(), name = "homeserver.yaml"): string {
  const path = writeConfigFile(raw, dir, name);
  chmodSync(path, mode);
  return path;
}

describe.concurrent("a shared secret that others can read", () => {
  for (const mode of [0o644, 0o640, 0o604]) {
    it(`inline in a config file with mode ${mode.toString(8)}: a warning naming the file and registration_shared_secret_path`, async () => {
      const config = configWithMode(await sqliteRaw(), mode);
      const stderr = await startupStderr([config]);
      const warnings = stderr.split("\n").filter((l) => l.startsWith("warning: "));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(new RegExp(`^warning: ${config}: registration_shared_secret: `));
      expect(warnings[0]).toContain("readable by group or others");
      expect(warnings[0]).toContain("registration_shared_secret_path");
    });
  }

  it("inline in a 0600 config file: no warning", async () => {
    const config = configWithMode(await sqliteRaw(), 0o600);
    expect(await startupStderr([config])).toBe("");
  });

  it("the warning follows the file the secret is in, not the other -c files", async () => {
    const { registration_shared_secret: _secret, ...rest } = await sqliteRaw();
    const dir = tempDir();
    const publicPart = configWithMode(rest, 0o644, dir, "public.yaml");
    const privateSecret = configWithMode({ registration_shared_secret: SHARED_SECRET }, 0o600, dir, "secret.yaml");
    expect(await startupStderr([publicPart, privateSecret])).toBe("");

    const dir2 = tempDir();
    const { registration_shared_secret: _s, ...rest2 } = await sqliteRaw();
    const privatePart = configWithMode(rest2, 0o600, dir2, "private.yaml");
    const publicSecret = configWithMode({ registration_shared_secret: SHARED_SECRET }, 0o644, dir2, "secret.yaml");
    const stderr = await startupStderr([privatePart, publicSecret]);
    expect(stderr).toContain(`warning: ${publicSecret}: registration_shared_secret: `);
    expect(stderr).not.toContain(privatePart);
  });

  it("in a registration_shared_secret_path file others can read: a warning with the chmod that fixes it", async () => {
    const loose = writeTemp("secret", `${SHARED_SECRET}\n`, 0o644);
    const { registration_shared_secret: _secret, ...rest } = await sqliteRaw();
    const config = configWithMode({ ...rest, registration_shared_secret_path: loose }, 0o644);
    const stderr = await startupStderr([config]);
    expect(stderr).toBe(
      `warning: ${loose}: registration_shared_secret_path: the secret file is readable by group or others; run: chmod 600 ${loose}\n`,
    );
  });

  it("in a 0600 registration_shared_secret_path file, with the config readable by all: no warning", async () => {
    const tight = writeTemp("secret", `${SHARED_SECRET}\n`, 0o600);
    const { registration_shared_secret: _secret, ...rest } = await sqliteRaw();
    const config = configWithMode({ ...rest, registration_shared_secret_path: tight }, 0o644);
    expect(await startupStderr([config])).toBe("");
  });
});

forEachDatabase((kind) => {
  it.concurrent(
    "server_name is recorded on first start; another server_name on the same database is refused",
    async () => {
      const db = await createTestDatabase(kind);
      const first = writeConfigFile(rawConfigFor(db, { server_name: "example.org" }));
      await startupStderr([first]);
      expect(await withStores(db.config, (s) => s.serverMeta.get("server_name"))).toBe("example.org");

      const second = writeConfigFile(rawConfigFor(db, { server_name: "other.example" }));
      const r = await runRefusedServe(["-c", second]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        'error: this database belongs to server_name "example.org", but the configuration says "other.example"; ' +
          "user IDs cannot change, so use the original server_name\n",
      );
      expect(r.stderr).not.toMatch(STACK_LINE);
      // The recorded name is unchanged, and the original config still starts.
      expect(await withStores(db.config, (s) => s.serverMeta.get("server_name"))).toBe("example.org");
      await startupStderr([first]);
    },
  );
});

describe.concurrent("a server that cannot start", () => {
  it("a port already in use: one error line, exit 1, no stack trace", async () => {
    const db = await createTestDatabase("sqlite");
    const running = await startServeInProcess(["-c", writeConfigFile(rawConfigFor(db))]);
    try {
      const port = Number(new URL(running.url).port);
      const other = await createTestDatabase("sqlite");
      const config = writeConfigFile(
        rawConfigFor(other, {
          listeners: [{ port, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] }],
        }),
        tempDir(),
      );
      const r = await runRefusedServe(["-c", config]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*\\n$`));
      expect(r.stderr).not.toMatch(STACK_LINE);
    } finally {
      await running.stop();
    }
  });

  it("a SQLite file in a directory that does not exist: one error line, exit 1", async () => {
    const config = writeConfigFile({
      ...(await sqliteRaw()),
      database: { name: "sqlite3", args: { database: join(tempDir(), "no", "such", "dir.db") } },
    });
    const r = await runRefusedServe(["-c", config]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});
