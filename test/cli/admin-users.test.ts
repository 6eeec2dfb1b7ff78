/**
 * `gatehouse user …` in both modes (over HTTP with an admin token, and straight on the database), on SQLite and
 * PostgreSQL: every command changes what it says, is refused as the API refuses it, is audited with its actor,
 * and never prints a password it was given.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRows } from "../admin/support.js";
import { login, loginRequest, whoami } from "../api/account-support.js";
import { ptyUnavailable, readUser, runInPty, sleep } from "../helpers/cli-tools.js";
import { forEachDatabase, tempDir } from "../helpers/databases.js";
import { GATEHOUSE_BIN } from "../helpers/server.js";
import { CLI_ACTOR, expectFailure, MODES, okJson, startAdminCli, type AdminCli, type Mode } from "./admin-support.js";

const PW = "a long enough password";
const noPty = ptyUnavailable();
const PW2 = "another long password";

/** Who the audit log names for a write made in `mode`, and from where. */
function expectActor(entry: { actor: string; ip: string | null }, mode: Mode): void {
  if (mode === "http") {
    expect(entry.actor).toBe("@root:localhost");
    expect(entry.ip).toBe("127.0.0.1");
  } else {
    expect(entry.actor).toMatch(CLI_ACTOR);
    expect(entry.ip).toBe("local");
  }
}

async function lastAudit(cli: AdminCli) {
  const rows = await auditRows(cli.fx.look);
  return rows[rows.length - 1]!;
}

/** The server's token cache may hold a session for up to a second after another process ended it. */
async function eventuallyRefused(url: string, token: string): Promise<number> {
  let status = 0;
  for (let i = 0; i < 30; i++) {
    status = (await whoami(url, token)).status;
    if (status === 401) break;
    await sleep(100);
  }
  return status;
}

forEachDatabase((kind) => {
  let cli: AdminCli;
  beforeAll(async () => {
    cli = await startAdminCli(kind);
  });
  afterAll(() => cli.close());

  for (const mode of MODES) {
    describe(mode, () => {
      const alice = `${mode}-alice`;
      const aliceId = `@${alice}:localhost`;
      const run = (args: string[], stdin?: string) => cli.run(mode, args, { stdin });

      it("create: password from stdin, display name, e-mail; it logs in; audited; the password is never printed", async () => {
        const r = await run(
          [
            "user",
            "create",
            alice,
            "--password-file",
            "-",
            "--displayname",
            "Alice",
            "--email",
            "A@Example.org",
            "--json",
          ],
          PW,
        );
        const user = okJson(r);
        expect(user).toMatchObject({ name: aliceId, displayname: "Alice", admin: false, deactivated: false });
        expect(user.threepids).toMatchObject([{ medium: "email", address: "a@example.org" }]);
        expect(r.stdout + r.stderr).not.toContain(PW);
        await login(cli.fx.url, alice, PW);
        const entry = await lastAudit(cli);
        expect(entry).toMatchObject({ action: "user.create", target: aliceId });
        expect(entry.after.password).toBe("<set>");
        expectActor(entry, mode);
      });

      it("create refuses an existing account (exit 4); --exists-ok exits 0 and changes nothing", async () => {
        const again = await run(["user", "create", alice, "--no-password", "--displayname", "Other"]);
        expectFailure(again, 4, /M_USER_IN_USE/);
        const ok = await run(["user", "create", alice, "--no-password", "--displayname", "Other", "--exists-ok"]);
        expect(ok.code, ok.stderr).toBe(0);
        expect(ok.stderr).toContain("already exists; nothing changed");
        expect((await readUser(cli.fx.db.config, aliceId))?.displayname).toBe("Alice");
        await login(cli.fx.url, alice, PW);
      });

      it("--generate-password prints the password once, and it is the password", async () => {
        const r = await run(["user", "create", `${mode}-gen`, "--generate-password", "--admin"]);
        expect(r.code, r.stderr).toBe(0);
        const m = /^Created @[^\n]+\nPassword: (\S+)\n$/.exec(r.stdout);
        expect(m, r.stdout).not.toBeNull();
        const generated = m![1]!;
        expect(r.stdout.split(generated)).toHaveLength(2);
        expect(r.stderr).not.toContain(generated);
        await login(cli.fx.url, `${mode}-gen`, generated);
        expect((await readUser(cli.fx.db.config, `@${mode}-gen:localhost`))?.admin).toBe(true);
      });

      it("the password policy refuses a weak password: exit 1, nothing created, the password not echoed", async () => {
        const r = await run(["user", "create", `${mode}-weak`, "--password-file", "-"], "short-pw1");
        expectFailure(r, 1, /M_PASSWORD_TOO_SHORT/);
        expect(r.stdout + r.stderr).not.toContain("short-pw1");
        expect(await readUser(cli.fx.db.config, `@${mode}-weak:localhost`)).toBeNull();
      });

      it("show and list: key/value view and table", async () => {
        const never = await run(["user", "show", alice]);
        expect(never.stdout).toMatch(/^terms accepted: +-$/m);
        // As `/_matrix/consent` records an acceptance (test/api/consent.test.ts covers that path).
        await cli.fx.look.kysely
          .updateTable("users")
          .set({ consent_version: "1.0", consent_ts: Date.UTC(2026, 0, 2, 3, 4), consent_server_notice_sent: "1.0" })
          .where("name", "=", aliceId)
          .execute();
        const show = await run(["user", "show", alice]);
        expect(show.stdout).toMatch(/^terms accepted: +1\.0, 2026-01-02 03:04 UTC$/m);
        expect(show.stdout).toMatch(/^terms notice sent: +1\.0$/m);
        expect(show.code, show.stderr).toBe(0);
        expect(show.stdout).toMatch(/^user ID: +@.+-alice:localhost$/m);
        expect(show.stdout).toMatch(/^display name: +Alice$/m);
        expect(show.stdout).toMatch(/^threepids: +email:a@example\.org$/m);
        expect(show.stdout).toMatch(/^devices: +\d+$/m);
        const list = await run(["user", "list", "--search", alice]);
        expect(list.code, list.stderr).toBe(0);
        const [header, row, more] = list.stdout.split("\n");
        expect(header).toMatch(/^USER ID +DISPLAY NAME +ADMIN +DEACTIVATED +LOCKED +CREATED +LAST SEEN$/);
        expect(row).toMatch(new RegExp(`^${aliceId} +Alice +no +no +no +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC +`));
        expect(more).toBe("");
      });

      it("modify, set-admin/unset-admin, lock/unlock change the account and are audited", async () => {
        const mod = okJson(
          await run(["user", "modify", alice, "--displayname", "Alice B", "--email", "b@example.org", "--json"]),
        );
        expect(mod).toMatchObject({ displayname: "Alice B", threepids: [{ address: "b@example.org" }] });
        const entry = await lastAudit(cli);
        expect(entry).toMatchObject({ action: "user.modify", target: aliceId });
        expectActor(entry, mode);

        expect((await run(["user", "set-admin", alice])).stdout).toBe(`${aliceId} is now a server admin\n`);
        expect((await readUser(cli.fx.db.config, aliceId))?.admin).toBe(true);
        expect((await lastAudit(cli)).action).toBe("user.set_admin");
        expect((await run(["user", "unset-admin", aliceId])).code).toBe(0);
        expect((await readUser(cli.fx.db.config, aliceId))?.admin).toBe(false);

        expect((await run(["user", "lock", alice])).code).toBe(0);
        expect((await readUser(cli.fx.db.config, aliceId))?.locked).toBe(true);
        const hidden = okJson<{ users: { name: string }[] }>(await run(["user", "list", "--search", alice, "--json"]));
        expect(hidden.users).toEqual([]);
        const shown = okJson<{ users: { name: string }[] }>(
          await run(["user", "list", "--search", alice, "--locked", "--json"]),
        );
        expect(shown.users.map((u) => u.name)).toEqual([aliceId]);
        expect((await run(["user", "unlock", alice])).code).toBe(0);
        expect((await readUser(cli.fx.db.config, aliceId))?.locked).toBe(false);

        const nothing = await run(["user", "modify", alice]);
        expectFailure(nothing, 2, /nothing to change/);
      });

      it("reset-password: --keep-devices keeps sessions; otherwise they end; --generate-password", async () => {
        const s1 = await login(cli.fx.url, alice, PW);
        const kept = await run(["user", "reset-password", alice, "--password-file", "-", "--keep-devices"], PW2);
        expect(kept.code, kept.stderr).toBe(0);
        expect(kept.stdout + kept.stderr).not.toContain(PW2);
        expect((await whoami(cli.fx.url, s1.token)).status).toBe(200);
        expect((await loginRequest(cli.fx.url, alice, PW)).status).toBe(403);
        await login(cli.fx.url, alice, PW2);
        const entry = await lastAudit(cli);
        expect(entry).toMatchObject({ action: "user.reset_password", after: { logout_devices: false } });
        expectActor(entry, mode);

        const gen = await run(["user", "reset-password", alice, "--generate-password"]);
        expect(gen.code, gen.stderr).toBe(0);
        const generated = /^Password: (\S+)$/m.exec(gen.stdout)![1]!;
        expect(await eventuallyRefused(cli.fx.url, s1.token)).toBe(401);
        await login(cli.fx.url, alice, generated);
        // Back to the known password for the tests that follow.
        expect((await run(["user", "reset-password", alice, "--password-file", "-"], PW)).code).toBe(0);
      });

      it("login-as prints only a token that acts as the user; whois lists where devices were used", async () => {
        const r = await run(["user", "login-as", alice, "--valid-until", "1h"]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/^syt_[A-Za-z0-9_]+\n$/);
        const who = await whoami(cli.fx.url, r.stdout.trim());
        expect(who.body.user_id).toBe(aliceId);
        expect((await lastAudit(cli)).action).toBe("user.login_as");

        const s = await login(cli.fx.url, alice, PW, `${mode.toUpperCase()}DEV`);
        await whoami(cli.fx.url, s.token);
        const json = okJson<{ user_id: string; devices: Record<string, { sessions: { connections: unknown[] }[] }> }>(
          await run(["user", "whois", alice, "--json"]),
        );
        expect(json.user_id).toBe(aliceId);
        expect(json.devices[""]!.sessions[0]!.connections).toContainEqual(expect.objectContaining({ ip: "127.0.0.1" }));
        const table = await run(["user", "whois", alice]);
        expect(table.stdout).toMatch(/^DEVICE +NAME +IP +USER AGENT +LAST SEEN$/m);
        expect(table.stdout).toMatch(new RegExp(`^${mode.toUpperCase()}DEV +- +127\\.0\\.0\\.1 `, "m"));
      });

      it("deactivate --erase, then reactivate with a new password", async () => {
        const r = await run(["user", "deactivate", alice, "--erase"]);
        expect(r.stdout).toBe(`Deactivated ${aliceId} (erased)\n`);
        const row = await readUser(cli.fx.db.config, aliceId);
        expect(row).toMatchObject({ deactivated: true, erased: true, displayname: null });
        const entry = await lastAudit(cli);
        expect(entry).toMatchObject({ action: "user.deactivate", after: { erase: true } });
        expectActor(entry, mode);
        expect((await loginRequest(cli.fx.url, alice, PW)).status).toBe(403);

        const back = await run(["user", "reactivate", alice, "--password-file", "-"], PW);
        expect(back.code, back.stderr).toBe(0);
        expect((await readUser(cli.fx.db.config, aliceId))?.deactivated).toBe(false);
        await login(cli.fx.url, alice, PW);
      });

      it("link and unlink an external ID: user show lists it; another account's ID is exit 4; audited", async () => {
        const bob = `${mode}-linkbob`;
        const bobId = `@${bob}:localhost`;
        expect((await run(["user", "create", bob, "--no-password"])).code).toBe(0);
        const sub = `${mode}-sub-1`;
        const linked = await run(["user", "link", bob, "--provider", "oidc-idp", "--external-id", sub]);
        expect(linked.stdout).toBe(`Linked ${bobId} to oidc-idp:${sub}\n`);
        expect((await lastAudit(cli)).after).toMatchObject({
          external_ids: [{ auth_provider: "oidc-idp", external_id: sub }],
        });
        expectActor(await lastAudit(cli), mode);
        const again = await run(["user", "link", bob, "--provider", "oidc-idp", "--external-id", sub]);
        expect(again.stdout).toBe(`${bobId} is already linked to oidc-idp:${sub}; nothing changed\n`);
        const second = okJson<{ external_ids: unknown[] }>(
          await run(["user", "link", bobId, "--provider", "ldap", "--external-id", `${mode}-uid`, "--json"]),
        );
        expect(second.external_ids).toEqual([
          { auth_provider: "ldap", external_id: `${mode}-uid` },
          { auth_provider: "oidc-idp", external_id: sub },
        ]);
        // The key column is as wide as the longest key the view shows.
        expect((await run(["user", "show", bob])).stdout).toMatch(
          new RegExp(`^external IDs: +ldap:${mode}-uid, oidc-idp:${sub}$`, "m"),
        );
        const lookup = await cli.fx.as("GET", `/_synapse/admin/v1/auth_providers/oidc-idp/users/${sub}`);
        expect(lookup.body).toEqual({ user_id: bobId });

        // Another account's ID: Synapse's refusal, exit 4, naming the holder; the other account unchanged.
        expectFailure(
          await run(["user", "link", "root", "--provider", "oidc-idp", "--external-id", sub]),
          4,
          `error: External id is already in use by ${bobId} (M_UNKNOWN)`,
        );
        expect(okJson<{ external_ids: unknown[] }>(await run(["user", "show", "root", "--json"])).external_ids).toEqual(
          [],
        );

        const unlinked = await run(["user", "unlink", bob, "--provider", "oidc-idp", "--external-id", sub]);
        expect(unlinked.stdout).toBe(`Unlinked ${bobId} from oidc-idp:${sub}\n`);
        const entry = await lastAudit(cli);
        expect(entry).toMatchObject({ action: "user.modify", target: bobId });
        expect(entry.after).toEqual({ external_ids: [{ auth_provider: "ldap", external_id: `${mode}-uid` }] });
        expect((await cli.fx.as("GET", `/_synapse/admin/v1/auth_providers/oidc-idp/users/${sub}`)).status).toBe(404);
        expectFailure(
          await run(["user", "unlink", bob, "--provider", "oidc-idp", "--external-id", sub]),
          3,
          `error: ${bobId} is not linked to oidc-idp:${sub} (M_NOT_FOUND)`,
        );
        for (const command of ["link", "unlink"]) {
          expectFailure(
            await run(["user", command, "nobody", "--provider", "oidc-idp", "--external-id", "x"]),
            3,
            /^error: User not found \(M_NOT_FOUND\)$/,
          );
        }
        expectFailure(await run(["user", "link", bob, "--provider", "oidc-idp"]), 2, /--external-id/);
      });

      it("an unknown user is exit 3 with one line; a remote user exit 1", async () => {
        for (const args of [
          ["user", "show", "nobody"],
          ["user", "lock", "nobody"],
          ["user", "deactivate", "nobody"],
        ]) {
          expectFailure(await run(args), 3, /^error: User not found \(M_NOT_FOUND\)$/);
        }
        expect(await readUser(cli.fx.db.config, "@nobody:localhost")).toBeNull();
        expectFailure(await run(["user", "show", "@x:elsewhere.example"]), 1, /local users/);
      });
    });
  }

  it("both modes print the same JSON for the same state", async () => {
    for (const args of [
      ["user", "show", "root", "--json"],
      ["user", "list", "--deactivated", "--locked", "--guests", "--json"],
      ["user", "list", "--all", "--limit", "2", "--json"],
      ["user", "whois", "http-alice", "--json"],
    ]) {
      // HTTP first: its own request may note the admin's device as seen, and the database mode then reads that.
      const http = okJson(await cli.run("http", args));
      const db = okJson(await cli.run("db", args));
      expect(db, args.join(" ")).toEqual(http);
    }
  });

  it.skipIf(kind !== "sqlite" || noPty !== null)(
    "on a terminal, create asks for the password twice without echo; a mismatch is exit 2",
    async () => {
      const env = { GATEHOUSE_URL: cli.fx.url, GATEHOUSE_TOKEN: cli.fx.admin.token, XDG_CONFIG_HOME: tempDir() };
      const typed = "typed on a terminal";
      const r = await runInPty(
        GATEHOUSE_BIN,
        ["user", "create", "tty-user"],
        [
          { expect: "Password: ", send: typed + "\r" },
          { expect: "Confirm password: ", send: typed + "\r" },
        ],
        { env },
      );
      expect(r.failedStep, r.text).toBeNull();
      expect(r.code, r.text).toBe(0);
      expect(r.text).toBe("Password: \nConfirm password: \nCreated @tty-user:localhost\n");
      expect(r.transcript).not.toContain(typed);
      await login(cli.fx.url, "tty-user", typed);

      const mismatch = await runInPty(
        GATEHOUSE_BIN,
        ["user", "create", "tty-other"],
        [
          { expect: "Password: ", send: typed + "\r" },
          { expect: "Confirm password: ", send: "something else!" + "\r" },
        ],
        { env },
      );
      expect(mismatch.code, mismatch.text).toBe(2);
      expect(mismatch.text).toContain("error: the passwords do not match");
      expect(await readUser(cli.fx.db.config, "@tty-other:localhost")).toBeNull();
    },
  );
});
