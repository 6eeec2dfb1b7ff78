import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase } from "./helpers/databases.js";
import { call } from "./helpers/http.js";
import { registerShared } from "./helpers/register.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

forEachDatabase((kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(await createTestDatabase(kind));
  });
  afterAll(() => server.close());

  it("registers with the shared secret and the token works for whoami", async () => {
    const r = await registerShared(server.url, { username: "Smoke", password: "pw" });
    expect(r.status).toBe(200);
    expect(r.body.user_id).toBe("@smoke:localhost");
    const who = await call(server.url, "GET", "/_matrix/client/v3/account/whoami", {
      token: r.body.access_token as string,
    });
    expect(who.body).toEqual({ user_id: "@smoke:localhost", is_guest: false, device_id: r.body.device_id });
  });
});
