/**
 * What a running `gatehouse serve` writes: JSON log lines on stdout, one per request, and never a secret — not the
 * password, the shared secret, a MAC, or an access token (a token in the URL is logged as `access_token=<redacted>`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeRegistrationMac } from "../../src/accounts/registration-mac.js";
import { createTestDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { getNonce } from "../helpers/register.js";
import { rawConfigFor, spawnServer, writeConfigFile, type ServerProcess } from "../helpers/server.js";
import { waitFor } from "./support.js";

const SECRET = "LogTestSharedSecret-q7Zr2;:^&*-Wv";
const PASSWORD = "LogTestPassword-h3Kx9-Distinctive";
const WRONG_MAC = "badc0ffee0ddf00d".repeat(2) + "deadbeef";
const BOGUS_TOKEN = "syt_Ym9ndXM_LogTestBogusTokenAbcde_0AAAAA";
const REGISTER = "/_synapse/admin/v1/register";
const WHOAMI = "/_matrix/client/v3/account/whoami";

interface LogLine {
  level: number;
  time: number;
  msg: string;
  method?: string;
  url?: string;
  status?: number;
  [k: string]: unknown;
}

describe.each(["info", "trace"])("a child-process server at log_level %s", (level) => {
  let proc: ServerProcess;
  /** Whatever started, so a failed setup still stops it. */
  const started: ServerProcess[] = [];
  let output = "";
  let stdout = "";
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    const db = await createTestDatabase("sqlite");
    proc = await spawnServer([
      "-c",
      writeConfigFile(rawConfigFor(db, { log_level: level, registration_shared_secret: SECRET })),
    ]);
    started.push(proc);
    const base = proc.url;

    const n1 = await getNonce(base);
    const refused = await call(base, "POST", REGISTER, {
      json: { nonce: n1, username: "logger", password: PASSWORD, mac: WRONG_MAC },
    });
    expect(refused.status).toBe(403);

    const nonce = await getNonce(base);
    const mac = computeRegistrationMac(SECRET, nonce, "logger", PASSWORD, false, null);
    const reg = await call(base, "POST", REGISTER, { json: { nonce, username: "logger", password: PASSWORD, mac } });
    expect(reg.status, reg.text).toBe(200);
    const token = reg.body.access_token as string;
    Object.assign(secrets, { password: PASSWORD, secret: SECRET, mac, wrongMac: WRONG_MAC, token, bogus: BOGUS_TOKEN });
    // The token's random part on its own, and the token as a URL would carry it.
    secrets.tokenRandom = token.split("_")[2]!;
    secrets.tokenEncoded = encodeURIComponent(token);

    const q = encodeURIComponent(token);
    expect((await call(base, "GET", `${WHOAMI}?access_token=${q}`)).status).toBe(200);
    expect((await call(base, "GET", `${WHOAMI}?probe=1&access_token=${q}&more=2`)).status).toBe(200);
    expect((await call(base, "GET", `${WHOAMI}?access_token=${BOGUS_TOKEN}`)).status).toBe(401);
    expect((await call(base, "GET", WHOAMI, { token })).status).toBe(200);
    expect((await call(base, "GET", WHOAMI, { token: BOGUS_TOKEN })).status).toBe(401);
    expect((await call(base, "GET", `/_matrix/client/v3/nonexistent?access_token=${q}`)).status).toBe(404);
    expect((await call(base, "POST", `/_matrix/client/versions?access_token=${q}`, { json: {} })).status).toBe(405);

    // Log lines are written just after the response; wait for all eleven requests before stopping.
    await waitFor(
      () =>
        proc
          .stdout()
          .split("\n")
          .filter((l) => l.includes('"msg":"request"')).length,
      (count) => count >= 11,
    );
    expect(await proc.stop()).toBe(0);
    stdout = proc.stdout();
    output = stdout + proc.stderr();
  });
  afterAll(async () => {
    for (const p of started) await p.stop("SIGKILL");
  });

  it("never writes the password, the shared secret, a MAC or an access token", () => {
    expect(Object.keys(secrets).sort()).toEqual(
      ["bogus", "mac", "password", "secret", "token", "tokenEncoded", "tokenRandom", "wrongMac"].sort(),
    );
    for (const [name, value] of Object.entries(secrets)) {
      expect(value.length, name).toBeGreaterThan(8);
      expect(output.includes(value), `${name} (${value}) appears in the server's output`).toBe(false);
    }
  });

  it("writes each stdout line as a JSON object, apart from the start-up banner", () => {
    const lines = stdout.split("\n").filter((l) => l !== "");
    const banner = [
      /^Gatehouse \S+ serving localhost on http:\/\/127\.0\.0\.1:\d+$/,
      /^No accounts yet\./,
      /^ {2}\S.* --admin -u admin$/,
    ];
    const json: LogLine[] = [];
    for (const line of lines) {
      if (banner.some((re) => re.test(line))) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = `not JSON: ${line}`;
      }
      expect(parsed).toMatchObject({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) });
      json.push(parsed as LogLine);
    }
    expect(json.length).toBeGreaterThanOrEqual(11);
  });

  it("logs one line per request with method, redacted URL, status and timing", () => {
    const requests = stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as LogLine)
      .filter((l) => l.msg === "request");
    expect(requests.map((r) => [r.method, r.url, r.status])).toEqual([
      ["GET", REGISTER, 200],
      ["POST", REGISTER, 403],
      ["GET", REGISTER, 200],
      ["POST", REGISTER, 200],
      ["GET", `${WHOAMI}?access_token=<redacted>`, 200],
      ["GET", `${WHOAMI}?probe=1&access_token=<redacted>&more=2`, 200],
      ["GET", `${WHOAMI}?access_token=<redacted>`, 401],
      ["GET", WHOAMI, 200],
      ["GET", WHOAMI, 401],
      ["GET", "/_matrix/client/v3/nonexistent?access_token=<redacted>", 404],
      ["POST", "/_matrix/client/versions?access_token=<redacted>", 405],
    ]);
    for (const r of requests) {
      expect(r).toMatchObject({ level: 30, ms: expect.any(Number), ip: "127.0.0.1" });
      // Headers (Authorization among them) and bodies are not logged.
      expect(JSON.stringify(r)).not.toMatch(/authorization|bearer|"body"|"headers"/i);
    }
  });
});
