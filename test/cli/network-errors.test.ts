/**
 * What `register_new_matrix_user` does when the other end is not a healthy Matrix homeserver. Synapse's script
 * ends in a Python traceback for most of these; Gatehouse prints one line, exits 1, and never shows a stack trace.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeRegistrationMac } from "../../src/accounts/registration-mac.js";
import type { CliResult } from "../helpers/cli.js";
import {
  closedPort,
  expectOneLineError,
  opensslAvailable,
  startSelfSignedStandIn,
  startStandIn,
  STACK_LINE,
  writeTemp,
  type StandIn,
} from "../helpers/cli-tools.js";
import { SHARED_SECRET } from "../helpers/server.js";
import { runRegisterNewMatrixUser } from "./in-process.js";

let pwFile: string;
beforeAll(() => {
  pwFile = writeTemp("password", "pw\n");
});

/** Registers `alice` against `url` with nothing asked and nothing on stderr but what the failure prints. */
const registerAt = (url: string, extra: string[] = []): Promise<CliResult> =>
  runRegisterNewMatrixUser([
    "-k",
    SHARED_SECRET,
    "-u",
    "alice",
    "--password-file",
    pwFile,
    "--no-admin",
    ...extra,
    url,
  ]);

const stands: StandIn[] = [];
afterAll(async () => {
  await Promise.all(stands.map((s) => s.close()));
});
async function standIn(handler: Parameters<typeof startStandIn>[0]): Promise<StandIn> {
  const s = await startStandIn(handler);
  stands.push(s);
  return s;
}

describe.concurrent("network failures: one line, exit 1, no stack trace", () => {
  it("connection refused", async () => {
    const port = await closedPort();
    const line = expectOneLineError(await registerAt(`http://127.0.0.1:${port}`));
    expect(line).toBe(`ERROR! Could not reach http://127.0.0.1:${port}: ECONNREFUSED (is the server running?)`);
  });

  it("a host name that does not resolve", async () => {
    const line = expectOneLineError(await registerAt("http://gatehouse-test.invalid:8008"));
    expect(line).toMatch(/^ERROR! Could not reach http:\/\/gatehouse-test\.invalid:8008: (ENOTFOUND|EAI_AGAIN)/);
  });

  it("a reverse proxy's HTML 502 page (the nonce request)", async () => {
    const s = await standIn((_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
    });
    const line = expectOneLineError(await registerAt(s.url));
    expect(line).toBe("ERROR! Received 502 Bad Gateway (the response is not JSON: is this URL a Matrix homeserver?)");
  });

  it("HTML 502 on the registration itself, after a good nonce (Synapse's traceback case)", async () => {
    const s = await standIn((req, res) => {
      if (req.method === "GET") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ nonce: "abc" }));
        return;
      }
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>upstream went away</html>");
    });
    const r = await registerAt(s.url);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      "Sending registration request...\nERROR! Received 502 Bad Gateway (the response is not JSON: is this URL a Matrix homeserver?)\n",
    );
    expect(r.stderr).toBe("");
    expect(r.stdout + r.stderr).not.toMatch(STACK_LINE);
    expect(s.requests.map((q) => q.method)).toEqual(["GET", "POST"]);
  });

  it("a web page answering 200 with HTML", async () => {
    const s = await standIn((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><title>Welcome to nginx!</title>");
    });
    const line = expectOneLineError(await registerAt(s.url));
    expect(line).toMatch(/^ERROR! Received 200 OK \(the response is not JSON/);
    // It stopped at the nonce: nothing was posted.
    expect(s.requests.map((q) => q.method)).toEqual(["GET"]);
  });

  it("the connection dropped mid-request", async () => {
    const s = await standIn((req) => req.socket.destroy());
    const line = expectOneLineError(await registerAt(s.url));
    expect(line).toMatch(/^ERROR! Could not reach http:\/\/127\.0\.0\.1:\d+: ECONNRESET/);
  });

  it("https:// to a plain-HTTP server", async () => {
    const s = await standIn((_req, res) => res.end("{}"));
    const url = s.url.replace("http://", "https://");
    const line = expectOneLineError(await registerAt(url));
    expect(line.startsWith(`ERROR! Could not reach ${url}: `)).toBe(true);
  });

  it.skipIf(!opensslAvailable())(
    "https:// to a server with a self-signed certificate: refused, nothing sent",
    async () => {
      const s = await startSelfSignedStandIn();
      stands.push(s);
      const line = expectOneLineError(await registerAt(s.url));
      expect(line).toMatch(/^ERROR! Could not reach https:\/\/127\.0\.0\.1:\d+: \S+ \(TLS certificate not accepted\)$/);
      expect(s.requests).toEqual([]);
    },
  );

  it("a server URL that is not a URL", async () => {
    const line = expectOneLineError(await registerAt("http://[not-a-host"));
    expect(line).toContain("is not a valid server URL");
  });

  it("a server URL with another scheme", async () => {
    const line = expectOneLineError(await registerAt("ftp://127.0.0.1/"));
    expect(line).toContain("must start with http:// or https://");
  });
});

describe.concurrent("server errors, worded as Synapse words them", () => {
  it("a 4xx with a Matrix error: the status line, then the server's message", async () => {
    const s = await standIn((_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ errcode: "M_UNRECOGNIZED", error: "Unrecognized request" }));
    });
    const r = await registerAt(s.url);
    expect(r).toEqual({ code: 1, stdout: "ERROR! Received 404 Not Found\nUnrecognized request\n", stderr: "" });
  });

  it("a 5xx with its own reason phrase: only the status line", async () => {
    const s = await standIn((_req, res) => {
      res.statusCode = 500;
      res.statusMessage = "Broken";
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ errcode: "M_UNKNOWN", error: "Internal server error" }));
    });
    const r = await registerAt(s.url);
    expect(r).toEqual({ code: 1, stdout: "ERROR! Received 500 Broken\n", stderr: "" });
  });

  it("--print-token when the server returns no token: one ERROR line, exit 1", async () => {
    const s = await standIn((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          req.method === "GET" ? { nonce: "n" } : { user_id: "@alice:example.org", home_server: "example.org" },
        ),
      );
    });
    const r = await registerAt(s.url, ["--no-input", "--print-token"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("ERROR! The server returned no access token\n");
  });
});

describe("the request on the wire", () => {
  it("is Synapse's: GET for a nonce, then POST of nonce, username as typed, password, 40-hex MAC, admin, user_type", async () => {
    const bodies: Record<string, unknown>[] = [];
    const s = await standIn((req, res) => {
      res.setHeader("content-type", "application/json");
      if (req.method === "GET") {
        res.end(JSON.stringify({ nonce: "thisisanonce" }));
        return;
      }
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString()));
      req.on("end", () => {
        bodies.push(JSON.parse(text) as Record<string, unknown>);
        res.end(
          JSON.stringify({
            user_id: "@pepper_roni:example.org",
            home_server: "example.org",
            access_token: "t",
            device_id: "D",
          }),
        );
      });
    });
    const r = await runRegisterNewMatrixUser([
      "-k",
      "shared_secret",
      "-u",
      "Pepper_Roni",
      "-p",
      "pizza",
      "-a",
      "-t",
      "bot",
      s.url,
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe("Sending registration request...\nSuccess!\n");
    expect(s.requests).toEqual([
      { method: "GET", url: "/_synapse/admin/v1/register" },
      { method: "POST", url: "/_synapse/admin/v1/register" },
    ]);
    expect(bodies).toHaveLength(1);
    const body = bodies[0]!;
    expect(body).toMatchObject({
      nonce: "thisisanonce",
      username: "Pepper_Roni",
      password: "pizza",
      admin: true,
      user_type: "bot",
    });
    expect(body.mac).toMatch(/^[0-9a-f]{40}$/);
    expect(body.mac).toBe(computeRegistrationMac("shared_secret", "thisisanonce", "Pepper_Roni", "pizza", true, "bot"));
    // Without --token-validity the lifetime extension is not sent.
    expect(Object.keys(body).sort()).toEqual(["admin", "mac", "nonce", "password", "user_type", "username"]);
  });
});
