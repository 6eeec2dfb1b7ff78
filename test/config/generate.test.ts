/**
 * `gatehouse generate-config`: a commented config the server accepts as it is, the shared secret in a file of its
 * own (mode 0600) named by registration_shared_secret_path, never inline, and the signing key next to the config
 * (mode 0600); an existing config or key file is never overwritten.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { runCli, type CliResult } from "../helpers/cli.js";
import { closedPort, readUser, STACK_LINE } from "../helpers/cli-tools.js";
import { tempDir } from "../helpers/databases.js";
import { GATEHOUSE_BIN, RNMU_BIN, spawnServer } from "../helpers/server.js";
import { databaseConfigFromUrl } from "../../src/config/database-url.js";
import { signingKeyFromSeed, verifyJsonSignature } from "../../src/matrix/signing.js";
import { call } from "../helpers/http.js";

const generate = (args: string[], cwd?: string): Promise<CliResult> =>
  runCli(GATEHOUSE_BIN, ["generate-config", ...args], cwd ? { cwd } : {});

/** Synapse's alphabet for generated secrets. */
const SECRET_RE = /^[0-9a-zA-Z.,;:^&*\-_+=#~@]{50}$/;

describe.concurrent("gatehouse generate-config", () => {
  it("writes a commented config and a 0600 secret file it points to; the server and the CLI use them as they are", async () => {
    const dir = tempDir();
    const dataDir = join(dir, "var");
    const configPath = join(dir, "etc", "homeserver.yaml");
    const port = await closedPort();
    const r = await generate([
      "--server-name",
      "example.org",
      "--data-dir",
      dataDir,
      "-c",
      configPath,
      "--port",
      String(port),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const secretPath = join(dataDir, "registration_shared_secret");
    // The signing key goes next to the config, named as Synapse names it.
    const keyPath = join(dir, "etc", "example.org.signing.key");
    expect(r.stdout).toBe(
      `Wrote ${configPath}\nWrote ${secretPath} (mode 0600: keep it readable only by the server's user)\n` +
        `Wrote ${keyPath} (mode 0600: the server's signing key; back it up)\n`,
    );

    const text = readFileSync(configPath, "utf8");
    expect(text.split("\n").filter((l) => l.trimStart().startsWith("#")).length).toBeGreaterThan(10);
    const config = parse(text) as Record<string, unknown>;
    expect(config.server_name).toBe("example.org");
    expect(config.registration_shared_secret).toBeUndefined();
    expect(config.registration_shared_secret_path).toBe(secretPath);
    expect(config.database).toEqual({ name: "sqlite3", args: { database: join(dataDir, "homeserver.db") } });
    expect(config.listeners).toEqual([
      expect.objectContaining({
        port,
        bind_addresses: ["127.0.0.1", "::1"],
        tls: false,
        resources: [{ names: ["client", "federation"], compress: false }],
      }),
    ]);
    expect(config.signing_key_path).toBe(keyPath);
    const keyText = readFileSync(keyPath, "utf8");
    expect(keyText).toMatch(/^ed25519 a_[A-Za-z]{4} [A-Za-z0-9+/]{43}\n$/);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(text).not.toContain(keyText.split(" ")[2]!.trim());

    const secret = readFileSync(secretPath, "utf8");
    expect(secret.endsWith("\n")).toBe(true);
    expect(secret.trim()).toMatch(SECRET_RE);
    expect(statSync(secretPath).mode & 0o777).toBe(0o600);
    // The secret is nowhere in the config, which may be shared or checked in.
    expect(text).not.toContain(secret.trim());
    expect(statSync(dataDir).mode & 0o077).toBe(0);

    // The server starts on it with nothing to warn about.
    const server = await spawnServer(["-c", configPath]);
    try {
      expect(server.url).toBe(`http://127.0.0.1:${port}`);
      expect(server.stdout()).toContain("serving example.org on");
      // (A machine without IPv6 gets a warning that ::1 was skipped; nothing else may appear.)
      expect(
        server
          .stderr()
          .split("\n")
          .filter((l) => l !== "" && !l.includes("cannot bind ::1")),
      ).toEqual([]);
      // It publishes the generated key, signed with it.
      const [, version, seed] = keyText.trim().split(" ");
      const key = signingKeyFromSeed(version!, Buffer.from(seed!, "base64"));
      const published = await call(server.url, "GET", "/_matrix/key/v2/server");
      expect(published.body.verify_keys).toEqual({ [key.keyId]: { key: key.publicKey } });
      expect(verifyJsonSignature(published.body, "example.org", key.keyId, key.publicKey)).toBe(true);
      // And the CLI finds the server and the secret from it alone.
      const reg = await runCli(RNMU_BIN, ["-c", configPath, "-u", "first", "-p", "pw", "-a"]);
      expect(reg.code, reg.stdout + reg.stderr).toBe(0);
      expect(reg.stdout).toBe("Sending registration request...\nSuccess!\n");
      expect(
        (await readUser(databaseConfigFromUrl(`sqlite://${join(dataDir, "homeserver.db")}`), "@first:example.org"))
          ?.admin,
      ).toBe(true);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("defaults: ./data/homeserver.yaml and ./data/registration_shared_secret under the working directory", async () => {
    const cwd = tempDir();
    const r = await generate(["--server-name", "example.net"], cwd);
    expect(r.code, r.stderr).toBe(0);
    const config = parse(readFileSync(join(cwd, "data/homeserver.yaml"), "utf8")) as Record<string, unknown>;
    expect(config.server_name).toBe("example.net");
    expect(config.registration_shared_secret_path).toBe(join(cwd, "data/registration_shared_secret"));
    expect(config.listeners).toEqual([expect.objectContaining({ port: 8008 })]);
    expect(statSync(join(cwd, "data/registration_shared_secret")).mode & 0o777).toBe(0o600);
    expect(config.signing_key_path).toBe(join(cwd, "data/example.net.signing.key"));
    expect(statSync(join(cwd, "data/example.net.signing.key")).mode & 0o777).toBe(0o600);
  });

  it("refuses to overwrite an existing config: exit 1, both files untouched", async () => {
    const cwd = tempDir();
    expect((await generate(["--server-name", "example.org"], cwd)).code).toBe(0);
    const configPath = join(cwd, "data/homeserver.yaml");
    const secretPath = join(cwd, "data/registration_shared_secret");
    const config = readFileSync(configPath, "utf8");
    const secret = readFileSync(secretPath, "utf8");
    const r = await generate(["--server-name", "other.example"], cwd);
    expect(existsSync(join(cwd, "data/other.example.signing.key"))).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${configPath} already exists; not overwriting it\n`);
    expect(r.stdout).toBe("");
    expect(readFileSync(configPath, "utf8")).toBe(config);
    expect(readFileSync(secretPath, "utf8")).toBe(secret);
  });

  it("a second config for the same data directory keeps the existing secret", async () => {
    const cwd = tempDir();
    expect((await generate(["--server-name", "example.org"], cwd)).code).toBe(0);
    const secret = readFileSync(join(cwd, "data/registration_shared_secret"), "utf8");
    const r = await generate(["--server-name", "example.org", "-c", join(cwd, "second.yaml")], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(cwd, "data/registration_shared_secret"), "utf8")).toBe(secret);
  });

  it("keeps an existing signing key file as it is, and says so", async () => {
    const cwd = tempDir();
    expect((await generate(["--server-name", "example.org"], cwd)).code).toBe(0);
    const keyPath = join(cwd, "data/example.org.signing.key");
    const key = readFileSync(keyPath, "utf8");
    const r = await generate(["--server-name", "example.org", "-c", join(cwd, "data/second.yaml")], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Kept the existing signing key ${keyPath}\n`);
    expect(readFileSync(keyPath, "utf8")).toBe(key);
    expect(
      (parse(readFileSync(join(cwd, "data/second.yaml"), "utf8")) as Record<string, unknown>).signing_key_path,
    ).toBe(keyPath);
  });

  const usage: [string, string[], RegExp][] = [
    ["no --server-name", [], /required option '--server-name <name>' not specified/],
    [
      "a server name the server would refuse",
      ["--server-name", "not a name!"],
      /server_name: is not a valid server name/,
    ],
    ["--port 0", ["--server-name", "example.org", "--port", "0"], /--port must be 1-65535/],
    ["--port 70000", ["--server-name", "example.org", "--port", "70000"], /--port must be 1-65535/],
  ];
  for (const [what, args, message] of usage) {
    it(`${what}: exit 2, nothing written`, async () => {
      const cwd = tempDir();
      const r = await generate(args, cwd);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK_LINE);
      expect(() => statSync(join(cwd, "data"))).toThrow();
    });
  }
});
