/**
 * synadm's `notice send` against a real Gatehouse: one recipient by localpart (plain and formatted body), and a
 * regular expression over the user list, each notice in the recipient's notices room.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureSynadm, synadmUnavailable, type Synadm } from "./synadm-support.js";
import { ROOM_ADMIN_CONFIG } from "./rooms-support.js";
import { closeAdminFixture, startAdminFixture, type AdminFixture } from "./support.js";

const unavailable = synadmUnavailable();
if (unavailable) console.warn(`skipping synadm notice tests: ${unavailable}`);

describe.skipIf(unavailable !== null)("synadm notice", () => {
  let fx: AdminFixture;
  let run: Synadm["run"];

  beforeAll(async () => {
    fx = await startAdminFixture("sqlite", {
      ...ROOM_ADMIN_CONFIG,
      server_notices: { system_mxid_localpart: "notices" },
    });
    ({ run } = configureSynadm(fx.url, fx.admin.token));
    await fx.user("alice");
    await fx.user("bob");
  });
  afterAll(() => closeAdminFixture(fx));

  const noticeContents = async (userId: string) => {
    const rows = await fx.look.kysely
      .selectFrom("events")
      .innerJoin("room_memberships", "room_memberships.room_id", "events.room_id")
      .select(["events.json"])
      .where("room_memberships.user_id", "=", userId)
      .where("room_memberships.membership", "=", "invite")
      .where("events.type", "=", "m.room.message")
      .where("events.sender", "=", "@notices:localhost")
      .orderBy("events.stream_ordering")
      .execute();
    return rows.map((r) => (JSON.parse(r.json) as { content: unknown }).content);
  };

  it("notice send to one user, plain and formatted", async () => {
    const r = await run("notice", "send", "alice", "Maintenance at 22:00", "<b>Maintenance</b> at 22:00");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const answer = r.json.at(-1) as { event_id?: string }[];
    expect(answer).toHaveLength(1);
    expect(answer[0]!.event_id).toMatch(/^\$/);
    expect(await noticeContents("@alice:localhost")).toEqual([
      {
        msgtype: "m.text",
        body: "Maintenance at 22:00",
        format: "org.matrix.custom.html",
        formatted_body: "<b>Maintenance</b> at 22:00",
      },
    ]);
  });

  it("notice send --regex: every user of the list whose ID matches", async () => {
    const r = await run("notice", "send", "--regex", "@(alice|bob):localhost", "Welcome");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const answer = r.json.at(-1) as { event_id?: string }[];
    expect(answer.map((a) => typeof a.event_id)).toEqual(["string", "string"]);
    expect((await noticeContents("@alice:localhost")).map((c) => (c as { body: string }).body)).toEqual([
      "Maintenance at 22:00",
      "Welcome",
    ]);
    expect((await noticeContents("@bob:localhost")).map((c) => (c as { body: string }).body)).toEqual(["Welcome"]);
  });
});
