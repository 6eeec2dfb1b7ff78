/**
 * The per-user admin settings on SQLite and PostgreSQL: `override_ratelimit` (stored, audited, and applied by the
 * limiter every message and join goes through), `experimental_features`, and the user's `memberships`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { ADMIN, auditRows, closeAdminFixture, enc, startAdminFixture, type AdminFixture } from "./support.js";
import { clientCall, encRoom, joinRoom, makeRoom, type Member } from "./rooms-support.js";
import { call } from "../helpers/http.js";

/** A strict server: two messages and one join, then nothing for a long while, unless an admin says otherwise. */
const STRICT = {
  room_list_publication_rules: [{ action: "allow" }],
  rc_message: { per_second: 0.001, burst_count: 2 },
  rc_joins: { local: { per_second: 0.001, burst_count: 1 } },
};

let txn = 0;
async function sendStatus(base: string, user: Member, roomId: string): Promise<number> {
  const path = `/_matrix/client/v3/rooms/${encRoom(roomId)}/send/m.room.message/t${++txn}`;
  const r = await call(base, "PUT", path, { token: user.token, json: { msgtype: "m.text", body: "hi" } });
  expect([200, 429], r.text).toContain(r.status);
  return r.status;
}

forEachDatabase((kind) => {
  let fx: AdminFixture;
  let alice: Member;
  let bob: Member;
  let carol: Member;
  let dave: Member;
  const override = (userId: string) => `${ADMIN}/v1/users/${enc(userId)}/override_ratelimit`;
  const features = (userId: string) => `${ADMIN}/v1/experimental_features/${enc(userId)}`;

  beforeAll(async () => {
    fx = await startAdminFixture(kind, STRICT);
    alice = await fx.user("alice");
    bob = await fx.user("bob");
    carol = await fx.user("carol");
    dave = await fx.user("dave");
  });
  afterAll(() => closeAdminFixture(fx));

  describe("override_ratelimit", () => {
    it("GET is {} until set; POST stores and answers it; GET reads it back; DELETE removes it; all audited", async () => {
      expect((await fx.as("GET", override(alice.userId))).body).toEqual({});
      const set = await fx.as("POST", override(alice.userId), { json: { messages_per_second: 5, burst_count: 7 } });
      expect([set.status, set.body]).toEqual([200, { messages_per_second: 5, burst_count: 7 }]);
      expect((await fx.as("GET", override(alice.userId))).body).toEqual({ messages_per_second: 5, burst_count: 7 });
      // An empty body sets 0/0, as Synapse's defaults.
      const zero = await fx.as("POST", override(alice.userId), { body: "" });
      expect([zero.status, zero.body]).toEqual([200, { messages_per_second: 0, burst_count: 0 }]);
      expect((await fx.as("DELETE", override(alice.userId))).body).toEqual({});
      expect((await fx.as("GET", override(alice.userId))).body).toEqual({});
      // Deleting what is not there answers the same and writes no entry.
      expect((await fx.as("DELETE", override(alice.userId))).status).toBe(200);
      const audit = (await auditRows(fx.look)).filter((e) => e.target === alice.userId);
      expect(audit.map((e) => [e.action, e.actor, e.before, e.after])).toEqual([
        ["user.override_ratelimit", fx.admin.userId, {}, { messages_per_second: 5, burst_count: 7 }],
        [
          "user.override_ratelimit",
          fx.admin.userId,
          { messages_per_second: 5, burst_count: 7 },
          { messages_per_second: 0, burst_count: 0 },
        ],
        ["user.delete_ratelimit_override", fx.admin.userId, { messages_per_second: 0, burst_count: 0 }, {}],
      ]);
    });

    it("refuses bad values, other servers' users, unknown users and non-admins in Synapse's words", async () => {
      for (const [value, repr] of [
        [-1, "-1"],
        [1.5, "1.5"],
        [true, "True"],
        ["3", "'3'"],
        [null, "None"],
      ] as const) {
        const r = await fx.as("POST", override(alice.userId), { json: { messages_per_second: value } });
        expectMatrixError(r, 400, "M_INVALID_PARAM", `${repr} parameter must be a positive int`);
      }
      const burst = await fx.as("POST", override(alice.userId), { json: { burst_count: -2 } });
      expectMatrixError(burst, 400, "M_INVALID_PARAM", "-2 parameter must be a positive int");
      expectMatrixError(
        await fx.as("POST", override(alice.userId), { body: "[1]", headers: { "content-type": "application/json" } }),
        400,
        "M_BAD_JSON",
        "Content must be a JSON object.",
      );
      expectMatrixError(await fx.as("GET", override("@x:elsewhere")), 400, "M_UNKNOWN", "Can only look up local users");
      expectMatrixError(
        await fx.as("POST", override("@x:elsewhere"), { json: {} }),
        400,
        "M_UNKNOWN",
        "Only local users can be ratelimited",
      );
      expectMatrixError(
        await fx.as("DELETE", override("@x:elsewhere")),
        400,
        "M_UNKNOWN",
        "Only local users can be ratelimited",
      );
      expectMatrixError(await fx.as("GET", override("@nobody:localhost")), 404, "M_NOT_FOUND", "User not found");
      expectMatrixError(
        await fx.as("POST", override("@nobody:localhost"), { json: {} }),
        404,
        "M_NOT_FOUND",
        "User not found",
      );
      for (const method of ["GET", "POST", "DELETE"]) {
        const r = await fx.as(method, override(bob.userId), {
          token: alice.token,
          ...(method === "POST" ? { json: {} } : {}),
        });
        expectMatrixError(r, 403, "M_FORBIDDEN", "You are not a server admin");
      }
      expect((await fx.as("GET", override(alice.userId))).body).toEqual({});
      expect((await auditRows(fx.look)).filter((e) => e.target === bob.userId)).toEqual([]);
    });

    it("is what the message limit applies: 0 lifts it, a rate and burst replace rc_message, none keeps it", async () => {
      const room = await makeRoom(fx.url, fx.admin, { preset: "public_chat" });
      for (const u of [alice, bob, carol, dave]) {
        // One join each: the strict join limit's whole burst.
        await joinRoom(fx.url, u, room);
      }
      await fx.as("POST", override(bob.userId), { json: { messages_per_second: 0, burst_count: 0 } });
      await fx.as("POST", override(carol.userId), { json: { messages_per_second: 1, burst_count: 4 } });
      await fx.as("POST", override(dave.userId), { json: { messages_per_second: 1, burst_count: 1 } });

      // alice: rc_message's burst of 2.
      expect([await sendStatus(fx.url, alice, room), await sendStatus(fx.url, alice, room)]).toEqual([200, 200]);
      expect(await sendStatus(fx.url, alice, room)).toBe(429);
      // bob: no limit at all.
      for (let i = 0; i < 6; i++) expect(await sendStatus(fx.url, bob, room)).toBe(200);
      // carol: her own burst of 4, more than rc_message's.
      for (let i = 0; i < 3; i++) expect(await sendStatus(fx.url, carol, room)).toBe(200);
      // dave: a burst of 1, less than rc_message's (the second send comes well within the second it takes to leak).
      expect([await sendStatus(fx.url, dave, room), await sendStatus(fx.url, dave, room)]).toEqual([200, 429]);
      // Lifting alice's limit lets her send again at once; deleting the override brings rc_message back.
      await fx.as("POST", override(alice.userId), { json: { messages_per_second: 0 } });
      expect(await sendStatus(fx.url, alice, room)).toBe(200);
      await fx.as("DELETE", override(alice.userId));
      expect(await sendStatus(fx.url, alice, room)).toBe(429);
    });

    it("a rate of 0 lifts the join limit too (Synapse exempts such a user from every per-user limit)", async () => {
      const rooms = [];
      for (let i = 0; i < 2; i++) rooms.push(await makeRoom(fx.url, fx.admin, { preset: "public_chat" }));
      // alice and bob used their one join in the test before; bob's 0/0 override still stands.
      await joinRoom(fx.url, bob, rooms[0]!);
      await joinRoom(fx.url, bob, rooms[1]!);
      const r = await call(fx.url, "POST", `/_matrix/client/v3/join/${encRoom(rooms[0]!)}`, {
        token: alice.token,
        json: {},
      });
      expect(r.status, r.text).toBe(429);
      // A non-zero override leaves the join limit as configured.
      const c = await call(fx.url, "POST", `/_matrix/client/v3/join/${encRoom(rooms[0]!)}`, {
        token: carol.token,
        json: {},
      });
      expect(c.status, c.text).toBe(429);
    });
  });

  describe("experimental_features", () => {
    it("GET lists Synapse's features, all off; PUT sets the ones named and leaves the others; audited", async () => {
      expect((await fx.as("GET", features(alice.userId))).body).toEqual({
        features: { msc3881: false, msc3575: false, msc4222: false },
      });
      const put = await fx.as("PUT", features(alice.userId), { json: { features: { msc3881: true, msc4222: true } } });
      expect([put.status, put.body]).toEqual([200, {}]);
      await fx.as("PUT", features(alice.userId), { json: { features: { msc4222: false } } });
      expect((await fx.as("GET", features(alice.userId))).body).toEqual({
        features: { msc3881: true, msc3575: false, msc4222: false },
      });
      // Another user's are their own.
      expect((await fx.as("GET", features(bob.userId))).body).toEqual({
        features: { msc3881: false, msc3575: false, msc4222: false },
      });
      const audit = (await auditRows(fx.look)).filter(
        (e) => e.target === alice.userId && e.action === "user.experimental_features",
      );
      expect(audit.map((e) => [e.before, e.after])).toEqual([
        [
          { msc3881: false, msc4222: false },
          { msc3881: true, msc4222: true },
        ],
        [{ msc4222: true }, { msc4222: false }],
      ]);
    });

    it("refuses unknown features, no features, non-booleans, other servers' users, unknown users, non-admins", async () => {
      const put = (json: unknown, userId = alice.userId, token?: string) =>
        fx.as("PUT", features(userId), { json, ...(token ? { token } : {}) });
      expectMatrixError(
        await put({ features: { msc9999: true } }),
        400,
        "M_UNKNOWN",
        "'msc9999' is not recognised as a valid experimental feature.",
      );
      for (const body of [{}, { features: {} }, { features: null }, { features: [] }]) {
        expectMatrixError(await put(body), 400, "M_UNKNOWN", "You must provide features to set.");
      }
      expectMatrixError(await put({ features: ["msc3881"] }), 400, "M_BAD_JSON", "'features' must be an object");
      expectMatrixError(
        await put({ features: { msc3575: "yes" } }),
        400,
        "M_BAD_JSON",
        "The value of 'msc3575' must be a boolean",
      );
      expectMatrixError(
        await put({ features: { msc3575: true } }, "@x:elsewhere"),
        400,
        "M_UNKNOWN",
        "User must be local to enable experimental features.",
      );
      expectMatrixError(
        await fx.as("GET", features("@x:elsewhere")),
        400,
        "M_UNKNOWN",
        "User must be local to check what experimental features are enabled.",
      );
      expectMatrixError(
        await put({ features: { msc3575: true } }, "@nobody:localhost"),
        404,
        "M_NOT_FOUND",
        "User not found",
      );
      expectMatrixError(
        await put({ features: { msc3575: true } }, bob.userId, bob.token),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
      expectMatrixError(
        await fx.as("GET", features(bob.userId), { token: bob.token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
      expect((await fx.as("GET", features(bob.userId))).body).toEqual({
        features: { msc3881: false, msc3575: false, msc4222: false },
      });
    });
  });

  describe("GET /_synapse/admin/v1/users/{userId}/memberships", () => {
    it("maps every room the user has a membership in to it, not only joined ones", async () => {
      const eve = await fx.user("eve");
      const joined = await makeRoom(fx.url, eve);
      const left = await makeRoom(fx.url, eve);
      await clientCall(fx.url, eve, "POST", `/rooms/${encRoom(left)}/leave`, {});
      const invited = await makeRoom(fx.url, fx.admin, { invite: [eve.userId] });
      const r = await fx.as("GET", `${ADMIN}/v1/users/${enc(eve.userId)}/memberships`);
      expect([r.status, r.body]).toEqual([
        200,
        { memberships: { [joined]: "join", [left]: "leave", [invited]: "invite" } },
      ]);
      expect((await fx.as("GET", `${ADMIN}/v1/users/${enc("@ghost:localhost")}/memberships`)).body).toEqual({
        memberships: {},
      });
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v1/users/ghost/memberships`),
        400,
        "M_INVALID_PARAM",
        "Expected UserID string to start with '@'",
      );
      expectMatrixError(
        await fx.as("GET", `${ADMIN}/v1/users/${enc(eve.userId)}/memberships`, { token: eve.token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
    });
  });
});
