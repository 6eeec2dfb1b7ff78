/**
 * Global account data (`GET`/`PUT /user/{userId}/account_data/{type}`) over real HTTP on SQLite and PostgreSQL:
 * storage, the 404 a client expects for absent types, who may read and write, and Synapse's special types.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { expectSpecResponse } from "../helpers/openapi.js";
import type { TestServer } from "../helpers/server.js";
import { expectError, registerUser, startOpenServer, type ClientUser } from "./sync-support.js";

const VERSIONS = ["r0", "v3", "unstable"] as const;

forEachDatabase((kind) => {
  let server: TestServer;
  let alice: ClientUser;
  let bob: ClientUser;
  const path = (user: string, type: string, v = "v3") =>
    `/_matrix/client/${v}/user/${encodeURIComponent(user)}/account_data/${encodeURIComponent(type)}`;

  async function specCall(method: string, p: string, options: Parameters<typeof call>[3]) {
    const r = await call(server.url, method, p, options);
    await expectSpecResponse(method, p, r.status, r.body);
    return r;
  }

  beforeAll(async () => {
    server = await startOpenServer(kind);
    alice = await registerUser(server.url, "alice");
    bob = await registerUser(server.url, "bob");
  });
  afterAll(() => server.close());

  it("a type holding NUL is 400 M_INVALID_PARAM on both databases, and nothing is stored", async () => {
    const p = path(alice.userId, "org.example.\u0000nul");
    const put = await call(server.url, "PUT", p, { token: alice.token, json: { a: 1 } });
    expect([put.status, put.body.errcode]).toEqual([400, "M_INVALID_PARAM"]);
    const get = await call(server.url, "GET", p, { token: alice.token });
    expect([get.status, get.body.errcode]).toEqual([400, "M_INVALID_PARAM"]);
  });

  describe.each(VERSIONS)("under %s", (v) => {
    it("absent data is 404 M_NOT_FOUND 'Account data not found'", async () => {
      const r = await specCall("GET", path(alice.userId, `org.example.absent.${v}`, v), { token: alice.token });
      expectError(r, 404, "M_NOT_FOUND", "Account data not found");
    });

    it("stores what was put and returns it; a second put replaces it", async () => {
      const type = `org.example.settings.${v}`;
      const put = await specCall("PUT", path(alice.userId, type, v), {
        token: alice.token,
        json: { theme: "dark", n: [1, 2] },
      });
      expect(put.status, put.text).toBe(200);
      expect(put.body).toEqual({});
      const got = await specCall("GET", path(alice.userId, type, v), { token: alice.token });
      expect(got.status).toBe(200);
      expect(got.body).toEqual({ theme: "dark", n: [1, 2] });
      await specCall("PUT", path(alice.userId, type, v), { token: alice.token, json: { theme: "light" } });
      expect((await call(server.url, "GET", path(alice.userId, type, v), { token: alice.token })).body).toEqual({
        theme: "light",
      });
    });
  });

  it("accepts the user ID raw or percent-encoded, and any type name", async () => {
    const raw = `/_matrix/client/v3/user/${alice.userId}/account_data/m.direct`;
    expect(
      (await call(server.url, "PUT", raw, { token: alice.token, json: { [bob.userId]: ["!room:localhost"] } })).status,
    ).toBe(200);
    const encoded = await call(
      server.url,
      "GET",
      "/_matrix/client/v3/user/%40alice%3Alocalhost/account_data/m.direct",
      {
        token: alice.token,
      },
    );
    expect(encoded.body).toEqual({ [bob.userId]: ["!room:localhost"] });
    const odd = "im.vector.setting.allowed_widgets/ünïcode type";
    expect(
      (await call(server.url, "PUT", path(alice.userId, odd), { token: alice.token, json: { ok: true } })).status,
    ).toBe(200);
    expect((await call(server.url, "GET", path(alice.userId, odd), { token: alice.token })).body).toEqual({ ok: true });
  });

  it("an empty object is data like any other", async () => {
    await call(server.url, "PUT", path(alice.userId, "org.example.empty"), { token: alice.token, json: {} });
    const r = await call(server.url, "GET", path(alice.userId, "org.example.empty"), { token: alice.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({});
  });

  it("each user has their own: the same type is separate per user", async () => {
    await call(server.url, "PUT", path(alice.userId, "org.example.mine"), {
      token: alice.token,
      json: { who: "alice" },
    });
    expectError(
      await call(server.url, "GET", path(bob.userId, "org.example.mine"), { token: bob.token }),
      404,
      "M_NOT_FOUND",
    );
    await call(server.url, "PUT", path(bob.userId, "org.example.mine"), { token: bob.token, json: { who: "bob" } });
    expect(
      (await call(server.url, "GET", path(alice.userId, "org.example.mine"), { token: alice.token })).body,
    ).toEqual({ who: "alice" });
  });

  it("someone else's account data is 403 M_FORBIDDEN, to read and to write", async () => {
    expectError(
      await specCall("GET", path(alice.userId, "org.example.mine"), { token: bob.token }),
      403,
      "M_FORBIDDEN",
      "Cannot get account data for other users.",
    );
    expectError(
      await specCall("PUT", path(alice.userId, "org.example.mine"), { token: bob.token, json: { who: "mallory" } }),
      403,
      "M_FORBIDDEN",
      "Cannot add account data for other users.",
    );
    expect(
      (await call(server.url, "GET", path(alice.userId, "org.example.mine"), { token: alice.token })).body,
    ).toEqual({ who: "alice" });
  });

  it("the body must be a JSON object", async () => {
    for (const json of [[1], "text", 5, null]) {
      expectError(
        await call(server.url, "PUT", path(alice.userId, "org.example.bad"), { token: alice.token, json }),
        400,
        "M_BAD_JSON",
      );
    }
    expectError(
      await call(server.url, "PUT", path(alice.userId, "org.example.bad"), { token: alice.token, body: "{" }),
      400,
      "M_NOT_JSON",
    );
    expectError(
      await call(server.url, "GET", path(alice.userId, "org.example.bad"), { token: alice.token }),
      404,
      "M_NOT_FOUND",
    );
  });

  it("m.push_rules reads as the push rules and cannot be written here; nor can m.fully_read (405, as in Synapse)", async () => {
    const rules = await call(server.url, "GET", path(alice.userId, "m.push_rules"), { token: alice.token });
    expect(rules.status).toBe(200);
    expect(Object.keys((rules.body as { global: object }).global).sort()).toEqual([
      "content",
      "override",
      "room",
      "sender",
      "underride",
    ]);
    expectError(
      await call(server.url, "PUT", path(alice.userId, "m.push_rules"), { token: alice.token, json: { global: {} } }),
      405,
      "M_BAD_JSON",
      "Cannot set m.push_rules through this API. Use /pushrules",
    );
    expectError(
      await call(server.url, "PUT", path(alice.userId, "m.fully_read"), {
        token: alice.token,
        json: { event_id: "$x" },
      }),
      405,
      "M_BAD_JSON",
    );
  });

  it("needs an access token", async () => {
    expectError(await call(server.url, "GET", path(alice.userId, "m.direct")), 401, "M_MISSING_TOKEN");
    expectError(await call(server.url, "PUT", path(alice.userId, "m.direct"), { json: {} }), 401, "M_MISSING_TOKEN");
  });

  it("each write reaches the user's next incremental sync, once", async () => {
    const first = await call<{ next_batch: string }>(server.url, "GET", "/_matrix/client/v3/sync", {
      token: alice.token,
    });
    await call(server.url, "PUT", path(alice.userId, "org.example.synced"), { token: alice.token, json: { v: 1 } });
    await call(server.url, "PUT", path(alice.userId, "org.example.synced"), { token: alice.token, json: { v: 2 } });
    const r = await call<{ next_batch: string; account_data: { events: unknown[] } }>(
      server.url,
      "GET",
      `/_matrix/client/v3/sync?since=${first.body.next_batch}`,
      { token: alice.token },
    );
    expect(r.body.account_data.events).toEqual([{ type: "org.example.synced", content: { v: 2 } }]);
  });
});
