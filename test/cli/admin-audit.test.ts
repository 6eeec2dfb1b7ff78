/**
 * `gatehouse audit`: writes made through the CLI in either mode (and through the API) are read back with their
 * actor and IP, filtered by actor, target, action and time, paged, and printed the same in both modes.
 */
import type { AuditEntry } from "../../src/db/admin-audit.js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import { CLI_ACTOR, expectFailure, okJson, startAdminCli, type AdminCli } from "./admin-support.js";

type Entry = AuditEntry;
interface Page {
  entries: Entry[];
  total: number;
  next_token?: string;
}

forEachDatabase((kind) => {
  let cli: AdminCli;
  let started: number;
  beforeAll(async () => {
    cli = await startAdminCli(kind);
    started = Date.now();
    // Four writes: two by the admin over HTTP, two by the CLI on the database.
    expect((await cli.run("http", ["user", "create", "carol", "--no-password"])).code).toBe(0);
    expect((await cli.run("http", ["user", "lock", "carol"])).code).toBe(0);
    expect((await cli.run("db", ["user", "unlock", "carol"])).code).toBe(0);
    expect((await cli.run("db", ["token", "new", "audit-tok"])).code).toBe(0);
  });
  afterAll(() => cli.close());

  it("every CLI write is in the log with who made it and from where, newest first", async () => {
    const page = okJson<Page>(await cli.run("db", ["audit", "--json"]));
    expect(page.total).toBe(4);
    expect(page.entries.map((e) => e.action)).toEqual([
      "registration_token.create",
      "user.modify",
      "user.modify",
      "user.create",
    ]);
    const [tok, unlock, lock, create] = page.entries;
    for (const e of [tok!, unlock!]) {
      expect(e.actor).toMatch(CLI_ACTOR);
      expect(e.ip).toBe("local");
    }
    for (const e of [lock!, create!]) expect(e).toMatchObject({ actor: "@root:localhost", ip: "127.0.0.1" });
    expect(unlock).toMatchObject({ target: "@carol:localhost", before: { locked: true }, after: { locked: false } });
    expect(create!.ts).toBeGreaterThanOrEqual(started - 60_000);
  });

  it("filters: --actor (a localpart is expanded), --target, --action, --since, --until", async () => {
    const byRoot = okJson<Page>(await cli.run("http", ["audit", "--actor", "root", "--json"]));
    expect(byRoot.entries.map((e) => e.action)).toEqual(["user.modify", "user.create"]);
    const actor = okJson<Page>(await cli.run("db", ["audit", "--limit", "1", "--json"])).entries[0]!.actor;
    const byCli = okJson<Page>(await cli.run("http", ["audit", "--actor", actor, "--json"]));
    expect(byCli.total).toBe(2);
    const byTarget = okJson<Page>(await cli.run("db", ["audit", "--target", "audit-tok", "--json"]));
    expect(byTarget.entries.map((e) => e.action)).toEqual(["registration_token.create"]);
    const byAction = okJson<Page>(await cli.run("http", ["audit", "--action", "user.create", "--json"]));
    expect(byAction.total).toBe(1);
    const recent = okJson<Page>(await cli.run("db", ["audit", "--since", "1h", "--json"]));
    expect(recent.total).toBe(4);
    const future = okJson<Page>(await cli.run("db", ["audit", "--since", "2999-01-01", "--json"]));
    expect(future.total).toBe(0);
    const past = okJson<Page>(await cli.run("db", ["audit", "--until", "2001-01-01", "--json"]));
    expect(past.total).toBe(0);
    expectFailure(await cli.run("db", ["audit", "--since", "yesterday"]), 2);
  });

  it("pages: --limit with a next token; --all fetches every page", async () => {
    const first = await cli.run("http", ["audit", "--limit", "3"]);
    expect(first.code).toBe(0);
    expect(first.stdout.split("\n")[0]).toMatch(/^TIME +ACTOR +ACTION +TARGET +IP +CHANGES$/);
    expect(first.stdout.trim().split("\n")).toHaveLength(4);
    expect(first.stdout).toMatch(/user\.modify +@carol:localhost +local +locked: true → false/);
    const hint = /next page: --from (\d+)/.exec(first.stderr);
    expect(hint, first.stderr).not.toBeNull();
    const rest = okJson<Page>(await cli.run("db", ["audit", "--limit", "3", "--from", hint![1]!, "--json"]));
    expect(rest.entries.map((e) => e.action)).toEqual(["user.create"]);
    const all = okJson<Page>(await cli.run("db", ["audit", "--all", "--limit", "1", "--json"]));
    expect(all.entries).toHaveLength(4);
    expect(all.next_token).toBeUndefined();
  });

  it("both modes print the same JSON", async () => {
    for (const args of [
      ["audit", "--json"],
      ["audit", "--limit", "2", "--json"],
      ["audit", "--action", "user.modify", "--json"],
    ]) {
      expect(okJson(await cli.run("db", args)), args.join(" ")).toEqual(okJson(await cli.run("http", args)));
    }
  });
});
