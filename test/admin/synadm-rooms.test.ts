/**
 * synadm's room commands against a real Gatehouse: room list (search, order, reverse, paging), details, members,
 * state, make-admin, join, delete (which shows the details and members first, then deletes through the v1 API),
 * and user membership.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureSynadm, synadmUnavailable, type Synadm } from "./synadm-support.js";
import { closeAdminFixture, startAdminFixture, type AdminFixture } from "./support.js";
import { joinRoom, makeRoom, type Member } from "./rooms-support.js";
import { ROOM_ADMIN_CONFIG } from "./rooms-support.js";

const unavailable = synadmUnavailable();
if (unavailable) console.warn(`skipping synadm room tests: ${unavailable}`);

describe.skipIf(unavailable !== null)("synadm room", () => {
  let fx: AdminFixture;
  let answer: Synadm["answer"];
  let run: Synadm["run"];
  let alice: Member;
  let bob: Member;
  let lounge: string;
  let quiet: string;

  beforeAll(async () => {
    fx = await startAdminFixture("sqlite", ROOM_ADMIN_CONFIG);
    ({ answer, run } = configureSynadm(fx.url, fx.admin.token));
    alice = await fx.user("alice");
    bob = await fx.user("bob");
    lounge = await makeRoom(fx.url, alice, { preset: "public_chat", name: "Lounge", room_alias_name: "lounge" });
    await joinRoom(fx.url, bob, lounge);
    quiet = await makeRoom(fx.url, bob, { name: "Quiet" });
  });
  afterAll(() => closeAdminFixture(fx));

  it("room list, search, order and reverse, paging", async () => {
    const all = await answer("room", "list");
    expect(all).toMatchObject({ total_rooms: 2, offset: 0 });
    expect((all.rooms as { room_id: string }[]).map((r) => r.room_id)).toEqual([lounge, quiet]);
    const reversed = await answer("room", "list", "-r");
    expect((reversed.rooms as { room_id: string }[]).map((r) => r.room_id)).toEqual([quiet, lounge]);
    const searched = await answer("room", "list", "-n", "lou");
    expect((searched.rooms as { name: string }[]).map((r) => r.name)).toEqual(["Lounge"]);
    const bySize = await answer("room", "list", "-s", "joined_members");
    expect((bySize.rooms as { room_id: string }[])[0]!.room_id).toBe(lounge);
    const paged = await answer("room", "list", "-l", "1");
    expect(paged).toMatchObject({ total_rooms: 2, next_batch: 1 });
  });

  it("room details, members, state", async () => {
    expect(await answer("room", "details", lounge)).toMatchObject({
      room_id: lounge,
      name: "Lounge",
      canonical_alias: "#lounge:localhost",
      joined_members: 2,
      forgotten: false,
    });
    expect(await answer("room", "members", lounge)).toEqual({
      members: ["@alice:localhost", "@bob:localhost"],
      total: 2,
    });
    const state = await answer("room", "state", quiet);
    expect((state.state as { type: string }[]).some((e) => e.type === "m.room.name")).toBe(true);
  });

  it("user membership --ids (its default, aliases, reads the client API's room aliases, which is not here yet)", async () => {
    expect(await answer("user", "membership", "bob", "--ids")).toEqual({ joined_rooms: [lounge, quiet], total: 2 });
  });

  it("room make-admin and room join", async () => {
    const made = await run("room", "make-admin", quiet, "-u", "alice");
    expect(made.code, made.stdout + made.stderr).toBe(0);
    const joined = await answer("room", "join", quiet, "alice");
    expect(joined).toEqual({ room_id: quiet });
    expect((await answer("room", "members", quiet)).total).toBe(2);
  });

  it("room delete (v1, after showing the details and members)", async () => {
    const r = await run("room", "delete", lounge, "-b");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = r.json.at(-1) as Record<string, unknown>;
    expect(result).toMatchObject({
      failed_to_kick_users: [],
      local_aliases: ["#lounge:localhost"],
      new_room_id: null,
    });
    expect((result.kicked_users as string[]).sort()).toEqual(["@alice:localhost", "@bob:localhost"]);
    expect((await answer("room", "list")).total_rooms).toBe(1);
  });
});
