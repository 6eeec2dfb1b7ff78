/**
 * Pushers over real HTTP on both databases: `POST /pushers/set` creates, replaces, appends and deletes; Synapse's
 * refusals store nothing; `GET /pushers` and the admin API's `GET /_synapse/admin/v1/users/{userId}/pushers`.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import type { TestServer } from "../helpers/server.js";
import { expectError, registerGuest, registerUser, type ClientUser } from "../api/sync-support.js";
import { api, ok, startOpenServer } from "../rooms/support.js";

const URL_OK = "https://push.example.org/_matrix/push/v1/notify";

const pusher = (over: Record<string, unknown> = {}) => ({
  kind: "http",
  app_id: "org.example.app",
  app_display_name: "Example",
  device_display_name: "Phone",
  pushkey: "key-1",
  lang: "en",
  data: { url: URL_OK, format: "event_id_only" },
  ...over,
});

forEachDatabase((kind) => {
  let server: TestServer;
  let alice: ClientUser;
  let bob: ClientUser;

  beforeAll(async () => {
    server = await startOpenServer(kind);
    alice = await registerUser(server.url, "alice");
    bob = await registerUser(server.url, "bob");
  });
  afterAll(() => server.close());

  const list = async (user: ClientUser) =>
    (await ok<{ pushers: unknown[] }>(server.url, user, "GET", "/pushers")).pushers;

  it("creates, replaces and deletes a pusher; GET lists it in the spec's shape", async () => {
    expect(await list(alice)).toEqual([]);
    await ok(server.url, alice, "POST", "/pushers/set", pusher());
    const expected = { ...pusher(), profile_tag: "" };
    expect(await list(alice)).toEqual([expected]);
    await ok(server.url, alice, "POST", "/pushers/set", pusher({ lang: "fr", profile_tag: "work" }));
    expect(await list(alice)).toEqual([{ ...expected, lang: "fr", profile_tag: "work" }]);
    await ok(server.url, alice, "POST", "/pushers/set", pusher({ pushkey: "key-2" }));
    expect(await list(alice)).toHaveLength(2);
    await ok(server.url, alice, "POST", "/pushers/set", { app_id: "org.example.app", pushkey: "key-2", kind: null });
    expect(await list(alice)).toEqual([{ ...expected, lang: "fr", profile_tag: "work" }]);
  });

  it("the same app_id and pushkey for another user removes the first user's, unless append is true", async () => {
    await ok(server.url, bob, "POST", "/pushers/set", pusher({ pushkey: "shared", append: true }));
    await ok(server.url, alice, "POST", "/pushers/set", pusher({ pushkey: "shared", append: true }));
    expect(await list(bob)).toHaveLength(1);
    await ok(server.url, alice, "POST", "/pushers/set", pusher({ pushkey: "shared" }));
    expect(await list(bob)).toEqual([]);
    expect((await list(alice)).length).toBe(2);
  });

  it("refuses bad pushers with Synapse's errors (and the spec's limits) and stores nothing", async () => {
    const before = await list(alice);
    const cases: [Record<string, unknown>, string][] = [
      [(({ lang: _l, ...rest }) => rest)(pusher({ pushkey: "x1" })), "M_MISSING_PARAM"],
      [pusher({ pushkey: "x2", data: {} }), "M_MISSING_PARAM"],
      [pusher({ pushkey: "x3", data: { url: "https://push.example.org/notify" } }), "M_MISSING_PARAM"],
      [pusher({ pushkey: "x4", data: { url: 42 } }), "M_MISSING_PARAM"],
      [pusher({ pushkey: "x5", kind: "email" }), "M_THREEPID_NOT_FOUND"],
      [pusher({ pushkey: "x6", kind: "carrier-pigeon" }), "M_INVALID_PARAM"],
      [pusher({ pushkey: "x7", app_id: "a".repeat(65) }), "M_INVALID_PARAM"],
      [pusher({ pushkey: "é".repeat(257) }), "M_INVALID_PARAM"],
      [pusher({ pushkey: "x9", data: "url" }), "M_INVALID_PARAM"],
      [pusher({ pushkey: 9 }), "M_INVALID_PARAM"],
      // PostgreSQL cannot hold NUL: a clear 400, not a 500.
      [pusher({ pushkey: "a\u0000b" }), "M_INVALID_PARAM"],
      [pusher({ pushkey: "x10", lang: "e\u0000n" }), "M_INVALID_PARAM"],
      [{ app_id: "a\u0000", pushkey: "k", kind: null }, "M_INVALID_PARAM"],
    ];
    for (const [body, errcode] of cases) {
      expectError(await api(server.url, alice, "POST", "/pushers/set", body), 400, errcode);
    }
    expect(await list(alice)).toEqual(before);
    // The limits themselves are allowed.
    await ok(server.url, alice, "POST", "/pushers/set", pusher({ app_id: "a".repeat(64), pushkey: "k".repeat(512) }));
  });

  it("an email pusher needs the address bound to the account", async () => {
    await server.server.accounts.stores.threepids.add(bob.userId, {
      medium: "email",
      address: "bob@example.org",
      validatedAt: 1,
      addedAt: 1,
    });
    const email = pusher({ kind: "email", app_id: "m.email", pushkey: "Bob@example.org", data: {} });
    expectError(await api(server.url, alice, "POST", "/pushers/set", email), 400, "M_THREEPID_NOT_FOUND");
    await ok(server.url, bob, "POST", "/pushers/set", email);
    expect(await list(bob)).toEqual([{ ...email, profile_tag: "" }]);
  });

  it("guests have none", async () => {
    const guest = await registerGuest(server.url);
    expectError(await api(server.url, guest, "GET", "/pushers"), 403, "M_GUEST_ACCESS_FORBIDDEN");
  });

  it("the admin API lists a user's pushers as Synapse does", async () => {
    const admin = await registerUser(server.url, "admin");
    await server.server.accounts.stores.users.setAdmin(admin.userId, true);
    const path = (userId: string) => `/_synapse/admin/v1/users/${encodeURIComponent(userId)}/pushers`;
    const r = await call<{ pushers: unknown[]; total: number }>(server.url, "GET", path(alice.userId), {
      token: admin.token,
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ pushers: await list(alice), total: (await list(alice)).length });
    expectError(await call(server.url, "GET", path("@nobody:localhost"), { token: admin.token }), 404, "M_NOT_FOUND");
    expectError(await call(server.url, "GET", path("@x:elsewhere.org"), { token: admin.token }), 400, "M_UNKNOWN");
    expectError(await call(server.url, "GET", path(alice.userId), { token: alice.token }), 403, "M_FORBIDDEN");
  });
});
