/**
 * `gatehouse notice send` in both modes: over HTTP, and on the database with the server's config (its
 * `server_notices` and its signing key), landing in the same notices room; `--content-file`, `--txn-id`, and the
 * refusals (exit codes, one line each): no content, unknown user, notices off, no config in database mode.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createSigningKeyFile } from "../../src/config/signing-key.js";
import { OPEN_REGISTRATION } from "../api/account-support.js";
import { auditRows, type AdminFixture } from "../admin/support.js";
import { runGatehouse } from "./in-process.js";
import { forEachDatabase, tempDir } from "../helpers/databases.js";
import { rawConfigFor, writeConfigFile } from "../helpers/server.js";
import { CLI_ACTOR, cleanEnv, expectFailure, okJson, startAdminCli, type AdminCli } from "./admin-support.js";

const NOTICES = "@notices:localhost";

forEachDatabase((kind) => {
  let cli: AdminCli;
  let fx: AdminFixture;
  let alice: string;
  const dir = tempDir();
  const keyPath = join(dir, "localhost.signing.key");
  beforeAll(async () => {
    // The server and the database mode sign with the same key file, as a deployment's would.
    createSigningKeyFile(keyPath);
    cli = await startAdminCli(kind, {
      signing_key_path: keyPath,
      server_notices: { system_mxid_localpart: "notices", room_name: "From the admins" },
    });
    fx = cli.fx;
    alice = (await fx.user("alice")).userId;
  });
  afterAll(() => cli.close());

  const invitesOf = async (userId: string) =>
    (
      await fx.look.kysely
        .selectFrom("room_memberships")
        .select("room_id")
        .where("user_id", "=", userId)
        .where("membership", "=", "invite")
        .execute()
    ).map((r) => r.room_id);
  const eventRoom = async (eventId: string) =>
    (await fx.look.kysely.selectFrom("events").select("room_id").where("event_id", "=", eventId).executeTakeFirst())
      ?.room_id;

  it("sends over HTTP and on the database into the same notices room, audited with each actor", async () => {
    const viaHttp = okJson<{ event_id: string }>(
      await cli.run("http", ["notice", "send", "alice", "--body", "Hello from HTTP", "--json"]),
    );
    const viaDb = await cli.run("db", ["notice", "send", alice, "--body", "Hello from the database"]);
    expect(viaDb.code, viaDb.stderr).toBe(0);
    const dbEvent = /^sent (\$\S+) to @alice:localhost$/.exec(viaDb.stdout.trim())?.[1];
    expect(dbEvent).toBeDefined();
    const rooms = await invitesOf(alice);
    expect(rooms).toHaveLength(1);
    expect(await eventRoom(viaHttp.event_id)).toBe(rooms[0]);
    expect(await eventRoom(dbEvent!)).toBe(rooms[0]);
    const audit = (await auditRows(fx.look)).filter((e) => e.action === "server_notice.send");
    expect(audit.map((e) => e.target)).toEqual([alice, alice]);
    expect(audit[0]!.actor).toBe(fx.admin.userId);
    expect(audit[1]!.actor).toMatch(CLI_ACTOR);
    expect(audit[1]!.ip).toBe("local");
  });

  it("--content-file (a file or standard input), --type and --state-key, --txn-id", async () => {
    const file = join(dir, "notice.json");
    writeFileSync(file, JSON.stringify({ msgtype: "m.notice", body: "From a file" }));
    const fromFile = okJson<{ event_id: string }>(
      await cli.run("db", ["notice", "send", "alice", "--content-file", file, "--json"]),
    );
    const row = await fx.look.kysely
      .selectFrom("events")
      .select(["json", "sender"])
      .where("event_id", "=", fromFile.event_id)
      .executeTakeFirstOrThrow();
    expect(row.sender).toBe(NOTICES);
    expect((JSON.parse(row.json) as { content: unknown }).content).toEqual({
      msgtype: "m.notice",
      body: "From a file",
    });
    const state = await cli.run(
      "http",
      ["notice", "send", "alice", "--content-file", "-", "--type", "org.example.terms", "--state-key", "v1"],
      { stdin: JSON.stringify({ url: "https://example.org/terms" }) },
    );
    expect(state.code, state.stderr).toBe(0);

    for (const mode of ["http", "db"] as const) {
      const args = ["notice", "send", "alice", "--body", `once via ${mode}`, "--txn-id", "t1", "--json"];
      const first = okJson<{ event_id: string }>(await cli.run(mode, args));
      const again = okJson<{ event_id: string }>(await cli.run(mode, args));
      expect(again).toEqual(first);
    }
  });

  it("refuses: no content or both (exit 2), an unknown user (exit 3), with one line and no stack", async () => {
    expectFailure(await cli.run("http", ["notice", "send", "alice"]), 2, /exactly one of --body and --content-file/);
    expectFailure(
      await cli.run("http", ["notice", "send", "alice", "--body", "x", "--content-file", "-"]),
      2,
      /exactly one of --body and --content-file/,
    );
    for (const mode of ["http", "db"] as const) {
      expectFailure(await cli.run(mode, ["notice", "send", "nobody", "--body", "x"]), 3, /User not found/);
    }
    const notObject = join(dir, "list.json");
    writeFileSync(notObject, "[1]");
    expectFailure(
      await cli.run("db", ["notice", "send", "alice", "--content-file", notObject]),
      2,
      /must hold a JSON object/,
    );
  });

  it("database mode: notices off in the config, or no config at all, are refused clearly", async () => {
    const off = writeConfigFile(rawConfigFor(fx.db, { ...OPEN_REGISTRATION, signing_key_path: keyPath }));
    const r = await runGatehouse(["notice", "send", "alice", "--body", "x", "-c", off], { env: cleanEnv() });
    expectFailure(r, 1, /Server notices are not enabled on this server \(M_UNKNOWN\)/);
    const url = await runGatehouse(["notice", "send", "alice", "--body", "x", "--database-url", fx.db.url], {
      env: cleanEnv(),
    });
    expectFailure(url, 2, /give -c with the server's configuration/);
    const noKey = writeConfigFile(
      rawConfigFor(fx.db, {
        signing_key_path: join(dir, "missing.key"),
        server_notices: { system_mxid_localpart: "n" },
      }),
    );
    const missing = await runGatehouse(["notice", "send", "alice", "--body", "x", "-c", noKey], {
      env: cleanEnv(),
    });
    expectFailure(missing, 2, /no signing key at .*missing\.key.*start the server once/);
    expect(await invitesOf(alice)).toHaveLength(1);
  });
});
