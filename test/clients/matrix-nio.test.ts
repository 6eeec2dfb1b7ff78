/**
 * matrix-nio (Debian's python3-matrix-nio, run by the system /usr/bin/python3) against Gatehouse through the
 * validating proxy: one-request m.login.dummy registration, password login, whoami, an initial and an incremental
 * sync, logout — all on `r0` paths with the access token in the query string, as nio sends them. The steps live in
 * nio_client.py, which prints one JSON line with each step's response type and key fields.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPEN_REGISTRATION } from "../api/client-support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { ensureNio, runNioScript } from "./nio.js";
import { CLIENT_TEST_TIMEOUT, expectNoSpecMismatches, startProxiedServer, type ProxiedServer } from "./support.js";

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
        const run = await runNioScript("nio_client.py", [hs.url, "nio_bot", "nio password 1234"]);
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
        // The device's first incremental sync answers at once (src/sync/first-sync.ts), not after its 1 s timeout:
        // a client shows "Connecting…" until it does. Later syncs long-poll (test/api/sync.test.ts).
        expect(s.sync_incremental!.seconds).toBeLessThan(0.9);
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
        expect(syncs[1]!.url).toContain(`since=${encodeURIComponent(s.sync!.next_batch as string)}`);
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );
  });
});
