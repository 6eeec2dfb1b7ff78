/**
 * `gatehouse media …` in both modes, on SQLite and PostgreSQL: list, info, quarantine, protect, delete (one, a
 * user's, older than) answer what the media admin API answers and act on the server's rows and files; the changes
 * are audited with the CLI's actor in database mode; bad input is one line with the documented exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRows, ADMIN, enc } from "../admin/support.js";
import { putMedia } from "../admin/media-support.js";
import { forEachDatabase, tempDir } from "../helpers/databases.js";
import { CLI_ACTOR, expectFailure, MODES, okJson, POLICY, startAdminCli, type AdminCli } from "./admin-support.js";

const DAY = 24 * 3600_000;

forEachDatabase((kind) => {
  let cli: AdminCli;
  beforeAll(async () => {
    cli = await startAdminCli(kind, { ...POLICY, media_store_path: tempDir() });
  });
  afterAll(() => cli.close());

  for (const mode of MODES) {
    describe(mode, () => {
      const run = (args: string[]) => cli.run(mode, args);
      const server = () => cli.fx.server.server;
      const row = (id: string) => server().media.stores.localMedia.get(id);
      let userId: string;
      beforeAll(async () => {
        userId = (await cli.fx.user(`media${mode}`)).userId;
        await putMedia(server(), { mediaId: `${mode}A`, userId, bytes: `${mode} a`, createdTs: Date.now() - 10 * DAY });
        await putMedia(server(), { mediaId: `${mode}B`, userId, bytes: `${mode} bb`, createdTs: Date.now() });
      });

      it("list and info print the API's JSON, and a table for people", async () => {
        const list = okJson(await run(["media", "list", `media${mode}`, "--json"]));
        expect(list).toEqual((await cli.fx.as("GET", `${ADMIN}/v1/users/${enc(userId)}/media`)).body);
        expect((list.media as { media_id: string }[]).map((m) => m.media_id)).toEqual([`${mode}B`, `${mode}A`]);
        const table = await run(["media", "list", userId, "--order-by", "media_length", "--limit", "1"]);
        expect(table.code, table.stderr).toBe(0);
        expect(table.stdout.split("\n")[0]).toMatch(
          /^MEDIA ID +TYPE +BYTES +NAME +CREATED +QUARANTINED BY +PROTECTED$/,
        );
        expect(table.stdout.split("\n")[1]).toMatch(new RegExp(`^${mode}A +image/png +${mode.length + 2} `));
        expect(table.stderr).toMatch(/^1 of 2; next page: --from 1$/m);

        const info = okJson(await run(["media", "info", `mxc://localhost/${mode}A`, "--json"]));
        expect(info).toEqual((await cli.fx.as("GET", `${ADMIN}/v1/media/localhost/${mode}A`)).body);
      });

      it("quarantine, unquarantine, protect: the rows change and the audit names the actor", async () => {
        expect((await run(["media", "quarantine", `${mode}A`])).stdout).toBe(`Quarantined mxc://localhost/${mode}A\n`);
        expect((await row(`${mode}A`))?.quarantinedBy).not.toBeNull();
        const entry = (await auditRows(cli.fx.look)).at(-1)!;
        expect(entry.action).toBe("media.quarantine");
        if (mode === "db") expect(entry.actor).toMatch(CLI_ACTOR);
        else expect(entry.actor).toBe(cli.fx.admin.userId);
        await run(["media", "unquarantine", `${mode}A`]);
        expect((await row(`${mode}A`))?.quarantinedBy).toBeNull();
        expect((await run(["media", "protect", `${mode}B`])).code).toBe(0);
        expect((await row(`${mode}B`))?.safeFromQuarantine).toBe(true);
        await run(["media", "quarantine", `${mode}B`]);
        expect((await row(`${mode}B`))?.quarantinedBy).toBeNull();
        await run(["media", "unprotect", `${mode}B`]);
        expect((await row(`${mode}B`))?.safeFromQuarantine).toBe(false);
      });

      it("delete, delete-older-than and delete-user remove rows and files", async () => {
        const sha = await putMedia(server(), { mediaId: `${mode}C`, userId, bytes: `${mode} only c` });
        const one = await run(["media", "delete", `${mode}C`]);
        expect([one.code, one.stdout]).toEqual([0, `Deleted 1 media item(s): ${mode}C\n`]);
        expect(await row(`${mode}C`)).toBeNull();
        expect(await server().media.storage.exists(sha)).toBe(false);

        const old = okJson(await run(["media", "delete-older-than", "5d", "--json"]));
        expect(old.deleted_media).toContain(`${mode}A`);
        expect(await row(`${mode}B`)).not.toBeNull();

        const all = okJson(await run(["media", "delete-user", userId, "--json"]));
        expect(all).toEqual({ deleted_media: [`${mode}B`], total: 1 });
      });

      it("refuses unknown media and bad references with the documented exit codes", async () => {
        expectFailure(await run(["media", "delete", "nothere"]), 3);
        expectFailure(await run(["media", "info", "mxc://elsewhere.example/x"]), 3);
        expectFailure(await run(["media", "delete", "../etc"]), 2);
        expectFailure(await run(["media", "list", "@nobody:localhost"]), 3);
      });
    });
  }
});
