/**
 * matrix-nio (Debian's python3-matrix-nio, run by the system /usr/bin/python3) against Gatehouse through the
 * validating proxy: one-request m.login.dummy registration, password login, whoami, an initial and an incremental
 * sync, logout — all on `r0` paths with the access token in the query string, as nio sends them. The steps live in
 * nio_client.py, which prints one JSON line with each step's response type and key fields.
 */
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPEN_REGISTRATION } from "../api/client-support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { CLIENT_TEST_TIMEOUT, expectNoSpecMismatches, startProxiedServer, type ProxiedServer } from "./support.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./nio_client.py", import.meta.url));

const hasNio = () => spawnSync(PYTHON, ["-c", "import nio"], { stdio: "ignore" }).status === 0;

/** nio must be importable; as root (CI, this machine) Debian's package is installed when it is not. */
function ensureNio(): void {
  if (hasNio()) return;
  if (process.getuid?.() === 0) {
    const r = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "python3-matrix-nio"], {
      encoding: "utf8",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 540_000,
    });
    if (hasNio()) return;
    throw new Error(`apt-get install python3-matrix-nio failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  throw new Error(`${PYTHON} cannot import nio: apt-get install -y python3-matrix-nio`);
}

interface Step {
  type: string;
  status_code?: string;
  message?: string;
  user_id?: string | null;
  device_id?: string | null;
  has_access_token?: boolean;
  next_batch?: string | null;
  seconds?: number;
}

interface NioRun {
  code: number | null;
  stdout: string;
  stderr: string;
  result: { ok: boolean; steps: Record<string, Step> } | null;
}

function runNio(url: string, username: string, password: string): Promise<NioRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(PYTHON, [SCRIPT, url, username, password], {
      // Loopback only, whatever proxy settings the environment has; no .pyc files in the tree.
      env: { ...process.env, NO_PROXY: "*", no_proxy: "*", PYTHONDONTWRITEBYTECODE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill("SIGKILL"), 110_000);
    proc.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").at(-1) ?? "";
      let result: NioRun["result"];
      try {
        result = JSON.parse(line) as NioRun["result"];
      } catch {
        result = null;
      }
      resolve({ code, stdout, stderr, result });
    });
  });
}

beforeAll(ensureNio, 600_000);

forEachDatabase((kind) => {
  describe("matrix-nio", () => {
    let hs: ProxiedServer;
    beforeAll(async () => {
      hs = await startProxiedServer(kind, OPEN_REGISTRATION);
    }, CLIENT_TEST_TIMEOUT);
    afterAll(() => (hs as ProxiedServer | undefined)?.close(), CLIENT_TEST_TIMEOUT);

    it(
      "registers, logs in, reads whoami, syncs and logs out",
      async () => {
        const run = await runNio(hs.url, "nio_bot", "nio password 1234");
        const why = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
        expect(run.result, why).not.toBeNull();
        expect(run.result!.ok, why).toBe(true);
        expect(run.code, why).toBe(0);
        const s = run.result!.steps;
        const me = "@nio_bot:localhost";
        expect(s.register, why).toMatchObject({ type: "RegisterResponse", user_id: me, has_access_token: true });
        expect(s.register_whoami, why).toMatchObject({ type: "WhoamiResponse", user_id: me });
        expect(s.login, why).toMatchObject({ type: "LoginResponse", user_id: me, has_access_token: true });
        expect(s.whoami, why).toMatchObject({ type: "WhoamiResponse", user_id: me });
        expect(s.login!.device_id).not.toBe(s.register!.device_id);
        expect(s.sync, why).toMatchObject({ type: "SyncResponse" });
        expect(s.sync_incremental, why).toMatchObject({ type: "SyncResponse" });
        expect(typeof s.sync!.next_batch).toBe("string");
        expect(typeof s.sync_incremental!.next_batch).toBe("string");
        // Nothing happened in between, so the incremental sync waited out its 1 s timeout: a real long-poll.
        expect(s.sync_incremental!.seconds).toBeGreaterThanOrEqual(0.9);
        expect(s.logout, why).toMatchObject({ type: "LogoutResponse" });

        // What nio sent: r0 paths, the token in the query string, the second sync with `since`.
        const seen = hs.proxy.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
        expect(seen).toEqual([
          "POST /_matrix/client/r0/register 200",
          "GET /_matrix/client/r0/account/whoami 200",
          "POST /_matrix/client/r0/login 200",
          "GET /_matrix/client/r0/account/whoami 200",
          "GET /_matrix/client/r0/sync 200",
          "GET /_matrix/client/r0/sync 200",
          "POST /_matrix/client/r0/logout 200",
        ]);
        const syncs = hs.proxy.requests.filter((r) => r.path.endsWith("/sync"));
        expect(syncs.every((r) => r.url.includes("access_token="))).toBe(true);
        expect(syncs[1]!.url).toContain(`since=${encodeURIComponent(s.sync!.next_batch!)}`);
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );
  });
});
