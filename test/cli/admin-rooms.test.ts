/**
 * `gatehouse room …` and `gatehouse user rooms` in both modes (over HTTP with an admin token, and straight on the
 * database), on SQLite and PostgreSQL: the same JSON as the admin API, tables for people, the writes audited with
 * their actor, events the database mode sends signed with the server's own key, and bad input as one line with the
 * documented exit code.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redactEvent } from "../../src/matrix/redaction.js";
import { roomVersion } from "../../src/matrix/room-versions.js";
import { parseSigningKeyFile, verifyJsonSignature, type SigningKey } from "../../src/matrix/signing.js";
import { auditRows, ADMIN, type AdminFixture } from "../admin/support.js";
import { clientCall, encRoom, joinRoom, makeRoom, ROOM_ADMIN_CONFIG, type Member } from "../admin/rooms-support.js";
import { forEachDatabase, tempDir } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { runGatehouse } from "./in-process.js";
import {
  CLI_ACTOR,
  cleanEnv,
  expectFailure,
  MODES,
  okJson,
  POLICY,
  startAdminCli,
  type AdminCli,
} from "./admin-support.js";

const C = "/_matrix/client/v3";

/** The newest stored PDU of `type` in the room, as the database holds it. */
async function newestPdu(fx: AdminFixture, roomId: string, type: string): Promise<Record<string, unknown>> {
  const row = await fx.look.kysely
    .selectFrom("events")
    .select("json")
    .where("room_id", "=", roomId)
    .where("type", "=", type)
    .orderBy("stream_ordering", "desc")
    .executeTakeFirstOrThrow();
  return JSON.parse(row.json) as Record<string, unknown>;
}

/** The state events without `unsigned.age`, which grows between two reads. */
function ageless(answer: Record<string, unknown>): unknown {
  const state = answer.state as { unsigned?: Record<string, unknown> }[];
  return state.map(({ unsigned, ...e }) => {
    const { age: _age, ...rest } = unsigned ?? {};
    return { ...e, unsigned: rest };
  });
}

/** Whether the server's key signed the PDU (over its redacted form, as the spec signs events). */
function signedBy(pdu: Record<string, unknown>, key: SigningKey, version: string): boolean {
  return verifyJsonSignature(redactEvent(pdu, roomVersion(version)!), "localhost", key.keyId, key.publicKey);
}

forEachDatabase((kind) => {
  let cli: AdminCli;
  let key: SigningKey;
  let alice: Member;
  let bob: Member;
  beforeAll(async () => {
    // The server and the database mode's -c share one key file, as a real server and its config do.
    const keyPath = join(tempDir(), "localhost.signing.key");
    cli = await startAdminCli(kind, { ...POLICY, ...ROOM_ADMIN_CONFIG, signing_key_path: keyPath });
    key = parseSigningKeyFile(readFileSync(keyPath, "utf8"))[0]!;
    alice = await cli.fx.user("alice");
    bob = await cli.fx.user("bob");
  });
  afterAll(() => cli.close());

  for (const mode of MODES) {
    describe(mode, () => {
      const run = (args: string[]) => cli.run(mode, args);
      const api = async (method: string, path: string, json?: unknown) => {
        const r = await cli.fx.as(method, path, json === undefined ? {} : { json });
        expect(r.status, r.text).toBe(200);
        return r.body;
      };
      const expectActor = (entry: { actor: string; ip: string | null }) =>
        expect(entry.actor).toMatch(mode === "http" ? /^@root:localhost$/ : CLI_ACTOR);

      let roomId: string;

      it("list and show (by alias) answer the admin API's JSON, and print tables", async () => {
        roomId = await makeRoom(cli.fx.url, alice, {
          preset: "public_chat",
          visibility: "public",
          name: `${mode} Lounge`,
          topic: "chat",
          room_alias_name: `${mode}-lounge`,
        });
        await joinRoom(cli.fx.url, bob, roomId);

        const listed = okJson(await run(["room", "list", "--search", `${mode} lounge`, "--json"]));
        expect(listed).toEqual(
          await api("GET", `${ADMIN}/v1/rooms?search_term=${encodeURIComponent(`${mode} lounge`)}`),
        );
        expect(listed).toMatchObject({ total_rooms: 1, rooms: [{ room_id: roomId, joined_members: 2 }] });
        const table = await run(["room", "list", "--search", `${mode} lounge`]);
        expect(table.code, table.stderr).toBe(0);
        const [header, row] = table.stdout.split("\n");
        expect(header).toMatch(/^ROOM ID +NAME +ALIAS +MEMBERS +LOCAL +PUBLIC +JOIN RULE +VERSION$/);
        expect(row).toMatch(
          new RegExp(
            `^${roomId.replace(/[.$]/g, "\\$&")} +${mode} Lounge +#${mode}-lounge:localhost +2 +2 +yes +public +11$`,
          ),
        );

        const alias = `#${mode}-lounge:localhost`;
        expect(okJson(await run(["room", "show", alias, "--json"]))).toEqual(
          await api("GET", `${ADMIN}/v1/rooms/${encRoom(roomId)}`),
        );
        const show = await run(["room", "show", alias]);
        expect(show.stdout).toMatch(new RegExp(`^room ID: +${roomId.replace(/[.$]/g, "\\$&")}$`, "m"));
        expect(show.stdout).toMatch(/^topic: +chat$/m);
        expect(show.stdout).toMatch(/^blocked: +no$/m);
      });

      it("members, state and user rooms answer the admin API's JSON, and print tables", async () => {
        expect(okJson(await run(["room", "members", roomId, "--json"]))).toEqual({
          members: [alice.userId, bob.userId].sort(),
          total: 2,
        });
        const members = await run(["room", "members", roomId]);
        expect(members.stdout.split("\n").slice(1, 3).sort()).toEqual([alice.userId, bob.userId].sort());

        const state = okJson<{ state: { type: string; content: unknown }[] }>(
          await run(["room", "state", roomId, "--type", "m.room.topic", "--json"]),
        );
        expect(ageless(state)).toEqual(
          ageless(await api("GET", `${ADMIN}/v1/rooms/${encRoom(roomId)}/state?type=m.room.topic`)),
        );
        expect(state.state.map((e) => e.content)).toEqual([{ topic: "chat" }]);
        const stateTable = await run(["room", "state", roomId]);
        expect(stateTable.stdout).toMatch(/^TYPE +STATE KEY +SENDER +SENT +CONTENT$/m);
        expect(stateTable.stdout).toMatch(
          /^m\.room\.name +- +@alice:localhost +\d{4}-\d\d-\d\d \d\d:\d\d UTC +\{"name":/m,
        );

        const rooms = okJson(await run(["user", "rooms", "bob", "--json"]));
        expect(rooms).toEqual(await api("GET", `${ADMIN}/v1/users/${encodeURIComponent(bob.userId)}/joined_rooms`));
        const roomsTable = await run(["user", "rooms", "bob"]);
        expect(roomsTable.stdout).toContain(`${mode} Lounge`);
      });

      it("block and unblock: joins are refused meanwhile; audited with the actor", async () => {
        const roomId = await makeRoom(cli.fx.url, alice, { preset: "public_chat" });
        expect(await run(["room", "block", roomId])).toMatchObject({ code: 0, stdout: `Blocked ${roomId}\n` });
        const status = (await api("GET", `${ADMIN}/v1/rooms/${encRoom(roomId)}/block`)) as { user_id: string };
        expect(status.user_id).toMatch(mode === "http" ? /^@root:localhost$/ : CLI_ACTOR);
        const refused = await call(cli.fx.url, "POST", `${C}/join/${encRoom(roomId)}`, { token: bob.token, json: {} });
        expect(refused.status).toBe(403);
        expect((await run(["room", "show", roomId])).stdout).toMatch(/^blocked: +yes \(by .+\)$/m);
        expect(okJson(await run(["room", "unblock", roomId, "--json"]))).toEqual({ block: false });
        await joinRoom(cli.fx.url, bob, roomId);
        const audit = (await auditRows(cli.fx.look)).filter((r) => r.target === roomId);
        expect(audit.map((r) => r.action)).toEqual(["room.block", "room.unblock"]);
        audit.forEach(expectActor);
      });

      it("join and make-admin send events signed with the server's key, and are audited", async () => {
        const roomId = await makeRoom(cli.fx.url, alice, { preset: "public_chat" });
        const joined = await run(["room", "join", roomId, "bob"]);
        expect(joined).toMatchObject({ code: 0, stdout: `${bob.userId} joined ${roomId}\n` });
        expect(okJson<{ members: string[] }>(await run(["room", "members", roomId, "--json"])).members).toContain(
          bob.userId,
        );
        expect(signedBy(await newestPdu(cli.fx, roomId, "m.room.member"), key, "11")).toBe(true);

        expect((await run(["room", "make-admin", roomId, "bob"])).code).toBe(0);
        const pl = await clientCall(cli.fx.url, alice, "GET", `/rooms/${encRoom(roomId)}/state/m.room.power_levels/`);
        expect((pl.users as Record<string, number>)[bob.userId]).toBe(100);
        expect(signedBy(await newestPdu(cli.fx, roomId, "m.room.power_levels"), key, "11")).toBe(true);
        const audit = (await auditRows(cli.fx.look)).filter((r) => r.target === roomId || r.target === bob.userId);
        expect(audit.slice(-2).map((r) => r.action)).toEqual(["room.join", "room.make_room_admin"]);
        audit.slice(-2).forEach(expectActor);
      });

      it("delete --wait: the members leave, the notice room takes them, the room is purged", async () => {
        const roomId = await makeRoom(cli.fx.url, alice, { preset: "public_chat", room_alias_name: `${mode}-doomed` });
        await joinRoom(cli.fx.url, bob, roomId);
        const status = okJson<{ status: string; shutdown_room: Record<string, unknown> }>(
          await run([
            "room",
            "delete",
            `#${mode}-doomed:localhost`,
            "--wait",
            "--block",
            "--new-room-user",
            "root",
            "--message",
            "Gone.",
            "--json",
          ]),
        );
        expect(status.status).toBe("complete");
        expect(status.shutdown_room).toMatchObject({ local_aliases: [`#${mode}-doomed:localhost`] });
        expect((status.shutdown_room.kicked_users as string[]).sort()).toEqual([alice.userId, bob.userId].sort());
        const noticeRoom = status.shutdown_room.new_room_id as string;
        const rooms = await clientCall(cli.fx.url, bob, "GET", "/joined_rooms");
        expect(rooms.joined_rooms).toEqual(expect.arrayContaining([noticeRoom]));
        expect(rooms.joined_rooms).not.toContain(roomId);
        expect(signedBy(await newestPdu(cli.fx, noticeRoom, "m.room.message"), key, "11")).toBe(true);
        const left = await cli.fx.look.kysely
          .selectFrom("events")
          .select("event_id")
          .where("room_id", "=", roomId)
          .execute();
        expect(left).toEqual([]);
        expectFailure(await run(["room", "show", roomId]), 3, /Room not found \(M_NOT_FOUND\)/);

        const byRoom = okJson<{ results: { status: string }[] }>(
          await run(["room", "delete-status", roomId, "--json"]),
        );
        expect(byRoom.results.map((r) => r.status)).toEqual(["complete"]);
        const table = await run(["room", "delete-status", roomId]);
        expect(table.stdout).toMatch(/^DELETE ID +STATUS +USERS REMOVED +NOTICE ROOM +ERROR$/m);
      });

      it("delete without --wait answers the delete ID; its status can be read by ID", async () => {
        const roomId = await makeRoom(cli.fx.url, alice, { preset: "public_chat" });
        const { delete_id } = okJson<{ delete_id: string }>(await run(["room", "delete", roomId, "--json"]));
        let status: Record<string, unknown> = {};
        for (let i = 0; i < 100; i++) {
          status = okJson(await run(["room", "delete-status", delete_id, "--json"]));
          if (status.status === "complete") break;
        }
        expect(status).toMatchObject({ delete_id, room_id: roomId, status: "complete" });
        const human = await run(["room", "delete-status", delete_id]);
        expect(human.stdout).toMatch(/^status: +complete$/m);
        expect(human.stdout).toMatch(/^users removed: +@alice:localhost$/m);
      });

      it("bad input: one line and the documented exit code, the same in both modes", async () => {
        expectFailure(await run(["room", "show", "!nowhere:localhost"]), 3, /Room not found \(M_NOT_FOUND\)/);
        expectFailure(await run(["room", "show", "#nowhere:localhost"]), 3, /M_NOT_FOUND/);
        expectFailure(await run(["room", "delete", "!nowhere:localhost"]), 3, /Unknown room id/);
        expectFailure(await run(["room", "block", "not-a-room"]), 1, /not a legal room ID \(M_UNKNOWN\)/);
        expectFailure(await run(["room", "delete-status", "nosuchid"]), 3, /delete id 'nosuchid' not found/);
        expectFailure(await run(["room", "list", "--order-by", "colour"]), 2);
        expectFailure(await run(["room", "list", "--limit", "-1"]), 2);
        expectFailure(await run(["room", "join", "!nowhere:localhost", "nobody"]), 3, /M_NOT_FOUND/);
        expectFailure(await run(["user", "rooms", "a:b"]), 2, /neither a localpart nor a user ID/);
      });
    });
  }

  describe("database mode only", () => {
    it("make-admin needs the user: there is no calling admin (exit 2); HTTP mode defaults to the token's admin", async () => {
      const roomId = await makeRoom(cli.fx.url, alice, { preset: "public_chat" });
      expectFailure(await cli.run("db", ["room", "make-admin", roomId]), 2, /give the user/);
      expect((await cli.run("http", ["room", "make-admin", roomId])).code).toBe(0);
      const pl = await clientCall(cli.fx.url, alice, "GET", `/rooms/${encRoom(roomId)}/state/m.room.power_levels/`);
      expect((pl.users as Record<string, number>)["@root:localhost"]).toBe(100);
    });

    it("without the server's signing key, the commands that sign refuse before writing (exit 2); reads work", async () => {
      const roomId = await makeRoom(cli.fx.url, alice, { preset: "public_chat" });
      const viaUrl = (args: string[]) => runGatehouse([...args, "--database-url", cli.fx.db.url], { env: cleanEnv() });
      const before = (await auditRows(cli.fx.look)).length;
      expectFailure(await viaUrl(["room", "join", roomId, "bob"]), 2, /signs events with the server's key: give -c/);
      expectFailure(await viaUrl(["room", "make-admin", roomId, "bob"]), 2, /give -c/);
      expectFailure(await viaUrl(["room", "delete", roomId]), 2, /give -c/);
      expect((await auditRows(cli.fx.look)).length).toBe(before);
      expect(okJson<{ members: string[] }>(await viaUrl(["room", "members", roomId, "--json"])).members).toEqual([
        alice.userId,
      ]);
      // Blocking sends no event, so it needs no key.
      expect((await viaUrl(["room", "block", roomId])).code).toBe(0);
    });

    it("join into a room that is not public: no admin in it to invite the user (exit 5), nothing written", async () => {
      const roomId = await makeRoom(cli.fx.url, alice, { preset: "private_chat" });
      expectFailure(await cli.run("db", ["room", "join", roomId, "bob"]), 5, /M_FORBIDDEN/);
      expect(okJson<{ members: string[] }>(await cli.run("db", ["room", "members", roomId, "--json"])).members).toEqual(
        [alice.userId],
      );
    });

    it("with the server's key, user modify updates the user's member events, as the API does", async () => {
      const roomId = await makeRoom(cli.fx.url, alice, { preset: "public_chat" });
      expect((await cli.run("db", ["user", "modify", "alice", "--displayname", "Alice Renamed"])).code).toBe(0);
      const path = `/rooms/${encRoom(roomId)}/state/m.room.member/${encodeURIComponent(alice.userId)}`;
      expect((await clientCall(cli.fx.url, alice, "GET", path)).displayname).toBe("Alice Renamed");
      expect(signedBy(await newestPdu(cli.fx, roomId, "m.room.member"), key, "11")).toBe(true);
    });
  });

  if (kind === "postgres") {
    it("a database-mode write wakes a running server's waiting /sync at once (PostgreSQL's notices)", async () => {
      const roomId = await makeRoom(cli.fx.url, alice, { preset: "public_chat" });
      const initial = await clientCall(cli.fx.url, alice, "GET", "/sync?timeout=0");
      // The device's first incremental sync answers at once (src/sync/first-sync.ts): wait on the next one.
      const first = await clientCall(cli.fx.url, alice, "GET", `/sync?timeout=0&since=${initial.next_batch as string}`);
      const started = Date.now();
      const waiting = call(cli.fx.url, "GET", `${C}/sync?timeout=20000&since=${first.next_batch as string}`, {
        token: alice.token,
      });
      // Started after the sync is waiting, so the wake-up is what ends it, not a change it would see anyway.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await cli.run("db", ["room", "join", roomId, "bob"])).code).toBe(0);
      const woken = await waiting;
      expect(woken.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(15_000);
      const timeline = (woken.body.rooms as { join: Record<string, { timeline: { events: { sender: string }[] } }> })
        .join[roomId]!.timeline.events;
      expect(timeline.map((e) => e.sender)).toContain(bob.userId);
    });
  }
});
