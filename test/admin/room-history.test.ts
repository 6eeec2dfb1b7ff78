/**
 * The admin reads of a room's history on SQLite and PostgreSQL (messages, context, timestamp_to_event,
 * forward_extremities), and the client's `timestamp_to_event` ("jump to date") with its spec schema.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { expectSpecResponse } from "../helpers/openapi.js";
import { ADMIN, closeAdminFixture, startAdminFixture, type AdminFixture } from "./support.js";
import { clientCall, encRoom, makeRoom, ROOM_ADMIN_CONFIG, type Member } from "./rooms-support.js";

interface Ev {
  event_id: string;
  type: string;
  origin_server_ts: number;
  content: { body?: string };
}

let txn = 0;
async function say(base: string, user: Member, roomId: string, body: string): Promise<string> {
  const path = `/rooms/${encRoom(roomId)}/send/m.room.message/h${++txn}`;
  return (await clientCall(base, user, "PUT", path, { msgtype: "m.text", body })).event_id as string;
}

forEachDatabase((kind) => {
  let fx: AdminFixture;
  let alice: Member;
  let bob: Member;
  let room: string;
  let said: string[];
  const rooms = (roomId: string, rest: string) => `${ADMIN}/v1/rooms/${encRoom(roomId)}/${rest}`;

  beforeAll(async () => {
    fx = await startAdminFixture(kind, ROOM_ADMIN_CONFIG);
    alice = await fx.user("alice");
    bob = await fx.user("bob");
    // History only for those joined at the time: the admin, never a member, reads it all the same.
    room = await makeRoom(fx.url, alice, {
      room_alias_name: "history",
      initial_state: [{ type: "m.room.history_visibility", state_key: "", content: { history_visibility: "joined" } }],
    });
    said = [];
    for (const body of ["one", "two", "three", "four"]) said.push(await say(fx.url, alice, room, body));
  });
  afterAll(() => closeAdminFixture(fx));

  describe("GET /_synapse/admin/v1/rooms/{roomId}/messages", () => {
    it("pages the whole timeline, newest first with dir=b, whatever the admin's membership and the visibility", async () => {
      const page = await fx.as("GET", rooms(room, "messages?dir=b&limit=3"));
      expect(page.status, page.text).toBe(200);
      const chunk = page.body.chunk as Ev[];
      expect(chunk.map((e) => e.content.body)).toEqual(["four", "three", "two"]);
      const next = await fx.as("GET", rooms(room, `messages?dir=b&limit=100&from=${page.body.end as string}`));
      const older = next.body.chunk as Ev[];
      expect(older[0]!.content.body).toBe("one");
      expect(older.at(-1)!.type).toBe("m.room.create");
      expect(next.body.end).toBeUndefined();
      // Forwards from the start, with a filter, as the client's.
      const filter = encodeURIComponent(JSON.stringify({ types: ["m.room.message"] }));
      const fwd = await fx.as("GET", rooms(room, `messages?filter=${filter}`));
      expect((fwd.body.chunk as Ev[]).map((e) => e.event_id)).toEqual(said);
    });

    it("is refused to a non-admin; an unknown room is 404, bad parameters 400", async () => {
      expectMatrixError(
        await fx.as("GET", rooms(room, "messages"), { token: alice.token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
      expectMatrixError(await fx.as("GET", rooms("!nope:localhost", "messages")), 404, "M_NOT_FOUND", "Room not found");
      expectMatrixError(
        await fx.as("GET", rooms(room, "messages?dir=x")),
        400,
        "M_INVALID_PARAM",
        'Query parameter "dir" must be one of [b, f]',
      );
      expectMatrixError(
        await fx.as("GET", rooms(room, "messages?from=zz")),
        400,
        "M_INVALID_PARAM",
        "'from' parameter is invalid",
      );
    });
  });

  describe("GET /_synapse/admin/v1/rooms/{roomId}/context/{eventId}", () => {
    it("gives the events around one that a non-member cannot see", async () => {
      const target = said[1]!;
      const client = await call(
        fx.url,
        "GET",
        `/_matrix/client/v3/rooms/${encRoom(room)}/context/${encodeURIComponent(target)}`,
        {
          token: bob.token,
        },
      );
      expect(client.status).toBe(403);
      const r = await fx.as("GET", rooms(room, `context/${encodeURIComponent(target)}?limit=2`));
      expect(r.status, r.text).toBe(200);
      expect((r.body.event as Ev).event_id).toBe(target);
      expect((r.body.events_before as Ev[]).map((e) => e.event_id)).toEqual([said[0]]);
      expect((r.body.events_after as Ev[]).map((e) => e.event_id)).toEqual([said[2]]);
      expect((r.body.state as Ev[]).some((e) => e.type === "m.room.create")).toBe(true);
      expectMatrixError(
        await fx.as("GET", rooms(room, `context/${encodeURIComponent("$nope")}`)),
        404,
        "M_NOT_FOUND",
        "Event not found.",
      );
      expectMatrixError(
        await fx.as("GET", rooms(room, `context/${encodeURIComponent(target)}`), { token: bob.token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
    });
  });

  describe("timestamp_to_event", () => {
    const events = async () => (await fx.as("GET", rooms(room, "messages?limit=100"))).body.chunk as Ev[];

    it("admin: the first event at or after ts (dir f, the default), the last at or before it (dir b)", async () => {
      const all = await events();
      const first = all[0]!;
      const last = all.at(-1)!;
      const f = await fx.as("GET", rooms(room, "timestamp_to_event?ts=0"));
      expect([f.status, f.body]).toEqual([200, { event_id: first.event_id, origin_server_ts: first.origin_server_ts }]);
      const b = await fx.as("GET", rooms(room, `timestamp_to_event?ts=${last.origin_server_ts + 60_000}&dir=b`));
      expect(b.body).toEqual({ event_id: last.event_id, origin_server_ts: last.origin_server_ts });
      const ts = last.origin_server_ts + 60_000;
      expectMatrixError(
        await fx.as("GET", rooms(room, `timestamp_to_event?ts=${ts}&dir=f`)),
        404,
        "M_NOT_FOUND",
        `Unable to find event from ${ts} in forward direction`,
      );
      expectMatrixError(
        await fx.as("GET", rooms(room, "timestamp_to_event")),
        400,
        "M_MISSING_PARAM",
        "Missing integer query parameter 'ts'",
      );
      expectMatrixError(
        await fx.as("GET", rooms(room, "timestamp_to_event?ts=soon")),
        400,
        "M_INVALID_PARAM",
        "Query parameter 'ts' must be a positive integer",
      );
      expectMatrixError(
        await fx.as("GET", rooms(room, "timestamp_to_event?ts=1&dir=up")),
        400,
        "M_INVALID_PARAM",
        "Query parameter 'dir' must be one of ['b', 'f']",
      );
      expectMatrixError(
        await fx.as("GET", rooms(room, "timestamp_to_event?ts=1"), { token: alice.token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
    });

    it("client v1: for members, in the spec's shape; dir required; others 403", async () => {
      const all = await events();
      const path = (q: string) => `/_matrix/client/v1/rooms/${encRoom(room)}/timestamp_to_event?${q}`;
      const r = await call(fx.url, "GET", path(`ts=${all[2]!.origin_server_ts}&dir=f`), { token: alice.token });
      await expectSpecResponse("GET", path("ts=1&dir=f"), r.status, r.body);
      expect(r.status, r.text).toBe(200);
      expect(r.body.event_id).toBe(all.find((e) => e.origin_server_ts >= all[2]!.origin_server_ts)!.event_id);
      const missingDir = await call(fx.url, "GET", path("ts=1"), { token: alice.token });
      expectMatrixError(missingDir, 400, "M_MISSING_PARAM", "Missing string query parameter 'dir'");
      const outsider = await call(fx.url, "GET", path("ts=1&dir=f"), { token: bob.token });
      await expectSpecResponse("GET", path("ts=1&dir=f"), outsider.status, outsider.body);
      expectMatrixError(
        outsider,
        403,
        "M_FORBIDDEN",
        `User ${bob.userId} not in room ${room}, and room previews are disabled`,
      );
      const late = await call(fx.url, "GET", path(`ts=${Date.now() + 3_600_000}&dir=f`), { token: alice.token });
      await expectSpecResponse("GET", path("ts=1&dir=f"), late.status, late.body);
      expect([late.status, late.body.errcode]).toEqual([404, "M_NOT_FOUND"]);
      // A world-readable room answers anyone.
      const open = await makeRoom(fx.url, alice, {
        initial_state: [
          { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "world_readable" } },
        ],
      });
      const o = await call(fx.url, "GET", `/_matrix/client/v1/rooms/${encRoom(open)}/timestamp_to_event?ts=0&dir=f`, {
        token: bob.token,
      });
      expect(o.status, o.text).toBe(200);
    });
  });

  describe("forward_extremities", () => {
    it("GET: the room's newest event, by room ID or alias; DELETE deletes none", async () => {
      await say(fx.url, alice, room, "five");
      const newest = ((await fx.as("GET", rooms(room, "messages?dir=b&limit=1"))).body.chunk as Ev[])[0]!;
      const byId = await fx.as("GET", rooms(room, "forward_extremities"));
      expect(byId.status, byId.text).toBe(200);
      expect(byId.body.count).toBe(1);
      const [ex] = byId.body.results as Record<string, number | string>[];
      expect(ex).toMatchObject({ event_id: newest.event_id, received_ts: newest.origin_server_ts });
      expect(typeof ex!.depth).toBe("number");
      expect(typeof ex!.state_group).toBe("number");
      const byAlias = await fx.as("GET", rooms("#history:localhost", "forward_extremities"));
      expect(byAlias.body).toEqual(byId.body);
      const del = await fx.as("DELETE", rooms(room, "forward_extremities"));
      expect([del.status, del.body]).toEqual([200, { deleted: 0 }]);
      expect((await fx.as("GET", rooms(room, "forward_extremities"))).body).toEqual(byId.body);
      expect((await fx.as("GET", rooms("!unknown:localhost", "forward_extremities"))).body).toEqual({
        count: 0,
        results: [],
      });
      expectMatrixError(
        await fx.as("GET", rooms("nonsense", "forward_extremities")),
        400,
        "M_INVALID_PARAM",
        "nonsense was not legal room ID or room alias",
      );
      expectMatrixError(
        await fx.as("DELETE", rooms(room, "forward_extremities"), { token: bob.token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
    });
  });
});
