/**
 * `gatehouse token …` in both modes, on SQLite and PostgreSQL: new, list, show, update, delete change what the
 * admin API shows, are audited with their actor, and refuse as the API refuses (exit 3 unknown, 4 taken).
 */
import type { RegistrationTokenResponse } from "../../src/accounts/registration-tokens.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRows } from "../admin/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { CLI_ACTOR, expectFailure, MODES, okJson, startAdminCli, type AdminCli } from "./admin-support.js";

type Token = RegistrationTokenResponse;

forEachDatabase((kind) => {
  let cli: AdminCli;
  beforeAll(async () => {
    cli = await startAdminCli(kind);
  });
  afterAll(() => cli.close());

  for (const mode of MODES) {
    describe(mode, () => {
      const run = (args: string[]) => cli.run(mode, args);
      const name = `${mode}-invite`;

      it("new: named with a use limit and an expiry as a duration; generated with a length", async () => {
        const before = Date.now();
        const t = okJson<Token>(await run(["token", "new", name, "--uses", "3", "--expires", "7d", "--json"]));
        expect(t).toMatchObject({ token: name, uses_allowed: 3, pending: 0, completed: 0 });
        expect(t.expiry_time).toBeGreaterThanOrEqual(before + 7 * 86_400_000);
        expect(t.expiry_time).toBeLessThanOrEqual(Date.now() + 7 * 86_400_000);
        const rows = await auditRows(cli.fx.look);
        const entry = rows[rows.length - 1]!;
        expect(entry).toMatchObject({ action: "registration_token.create", target: name });
        expect(entry.actor).toMatch(mode === "http" ? /^@root:localhost$/ : CLI_ACTOR);

        const g = await run(["token", "new", "--length", "24"]);
        expect(g.code, g.stderr).toBe(0);
        expect(g.stdout).toMatch(/^token: +[A-Za-z0-9._~-]{24}$/m);
        expect(g.stdout).toMatch(/^uses allowed: +unlimited$/m);
        expect(g.stdout).toMatch(/^expires: +never$/m);
      });

      it("new with a taken name: exit 4; an expiry in the past: exit 1", async () => {
        expectFailure(await run(["token", "new", name]), 4, /Token already exists/);
        expectFailure(await run(["token", "new", `${name}-old`, "--expires", "2001-01-01"]), 1, /in the past/);
      });

      it("show and list (--valid / --invalid), table and JSON", async () => {
        const show = await run(["token", "show", name]);
        expect(show.stdout).toMatch(/^uses allowed: +3$/m);
        expect(show.stdout).toMatch(/^valid now: +yes$/m);
        const list = await run(["token", "list"]);
        expect(list.stdout).toMatch(/^TOKEN +USES ALLOWED +PENDING +COMPLETED +EXPIRES +VALID$/m);
        expect(list.stdout).toMatch(new RegExp(`^${name} +3 +0 +0 +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC +yes$`, "m"));
        const valid = okJson<{ registration_tokens: Token[] }>(await run(["token", "list", "--valid", "--json"]));
        expect(valid.registration_tokens.map((t) => t.token)).toContain(name);
        const invalid = okJson<{ registration_tokens: Token[] }>(await run(["token", "list", "--invalid", "--json"]));
        expect(invalid.registration_tokens.map((t) => t.token)).not.toContain(name);
        expectFailure(await run(["token", "list", "--valid", "--invalid"]), 2);
      });

      it("update: --uses 0 switches it off, --unlimited and --no-expiry clear; nothing to change is exit 2", async () => {
        const off = okJson<Token>(await run(["token", "update", name, "--uses", "0", "--json"]));
        expect(off.uses_allowed).toBe(0);
        const invalid = okJson<{ registration_tokens: Token[] }>(await run(["token", "list", "--invalid", "--json"]));
        expect(invalid.registration_tokens.map((t) => t.token)).toContain(name);
        const open = okJson<Token>(await run(["token", "update", name, "--unlimited", "--no-expiry", "--json"]));
        expect(open).toMatchObject({ uses_allowed: null, expiry_time: null });
        const rows = await auditRows(cli.fx.look);
        expect(rows[rows.length - 1]).toMatchObject({
          action: "registration_token.update",
          before: { uses_allowed: 0 },
          after: { uses_allowed: null, expiry_time: null },
        });
        expectFailure(await run(["token", "update", name]), 2, /nothing to change/);
      });

      it("delete, then the token is unknown everywhere: exit 3", async () => {
        const del = await run(["token", "delete", name]);
        expect(del).toMatchObject({ code: 0, stdout: `Deleted ${name}\n` });
        const rows = await auditRows(cli.fx.look);
        expect(rows[rows.length - 1]).toMatchObject({ action: "registration_token.delete", target: name });
        for (const args of [
          ["token", "show", name],
          ["token", "delete", name],
          ["token", "update", name, "--uses", "1"],
        ]) {
          expectFailure(await run(args), 3, /No such registration token/);
        }
      });
    });
  }

  it("both modes print the same JSON for the same tokens", async () => {
    const made = await cli.run("http", ["token", "new", "same-json", "--uses", "5"]);
    expect(made.code, made.stdout + made.stderr).toBe(0);
    for (const args of [
      ["token", "list", "--json"],
      ["token", "show", "same-json", "--json"],
    ]) {
      expect(okJson(await cli.run("db", args)), args.join(" ")).toEqual(okJson(await cli.run("http", args)));
    }
  });
});
