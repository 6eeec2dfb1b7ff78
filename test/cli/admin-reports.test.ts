/**
 * `gatehouse report …` in both modes, on SQLite and PostgreSQL: list (filters, paging), show and delete answer what
 * the event-report admin API answers, the deletion is audited with its actor, and bad input is one line with the
 * documented exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRows, ADMIN } from "../admin/support.js";
import { clientCall, encRoom, joinRoom, makeRoom, ROOM_ADMIN_CONFIG, type Member } from "../admin/rooms-support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { CLI_ACTOR, expectFailure, MODES, okJson, POLICY, startAdminCli, type AdminCli } from "./admin-support.js";

interface Report {
  id: number;
  room_id: string;
  event_id: string | null;
  user_id: string;
  reason: string | null;
}

forEachDatabase((kind) => {
  let cli: AdminCli;
  let alice: Member;
  let bob: Member;
  let roomId: string;
  let eventId: string;
  beforeAll(async () => {
    cli = await startAdminCli(kind, { ...POLICY, ...ROOM_ADMIN_CONFIG });
    alice = await cli.fx.user("alice");
    bob = await cli.fx.user("bob");
    roomId = await makeRoom(cli.fx.url, alice, { preset: "public_chat", name: "Reported" });
    await joinRoom(cli.fx.url, bob, roomId);
    const sent = await clientCall(cli.fx.url, alice, "PUT", `/rooms/${encRoom(roomId)}/send/m.room.message/t1`, {
      msgtype: "m.text",
      body: "rude words",
    });
    eventId = sent.event_id as string;
  });
  afterAll(() => cli.close());

  /** Bob reports alice's message; the report's ID. */
  async function report(reason: string): Promise<number> {
    await clientCall(cli.fx.url, bob, "POST", `/rooms/${encRoom(roomId)}/report/${encodeURIComponent(eventId)}`, {
      reason,
      score: -50,
    });
    const list = await cli.fx.as("GET", `${ADMIN}/v1/event_reports?limit=1`);
    return (list.body.event_reports as Report[])[0]!.id;
  }

  for (const mode of MODES) {
    describe(mode, () => {
      const run = (args: string[]) => cli.run(mode, args);

      it("list: the API's JSON, filters by room and reporter, paging; a table for people", async () => {
        const first = await report(`${mode} first`);
        const second = await report(`${mode} second`);
        const all = okJson<{ event_reports: Report[]; total: number }>(await run(["report", "list", "--json"]));
        expect(all).toEqual((await cli.fx.as("GET", `${ADMIN}/v1/event_reports`)).body);
        expect(all.event_reports.slice(0, 2).map((r) => r.id)).toEqual([second, first]);

        const byRoom = okJson<{ event_reports: Report[] }>(
          await run(["report", "list", "--room", roomId, "--user", "bob", "--dir", "f", "--json"]),
        );
        expect(byRoom.event_reports.map((r) => r.id)).toEqual(all.event_reports.map((r) => r.id).reverse());
        const nobody = okJson<{ event_reports: Report[] }>(await run(["report", "list", "--user", "alice", "--json"]));
        expect(nobody.event_reports).toEqual([]);

        const page = await run(["report", "list", "--limit", "1"]);
        expect(page.code, page.stderr).toBe(0);
        expect(page.stderr).toMatch(/^1 of \d+; next page: --from 1$/m);
        const [header, row] = page.stdout.split("\n");
        expect(header).toMatch(/^ID +RECEIVED +ROOM +EVENT +SENDER +REPORTER +SCORE +REASON$/);
        expect(row).toMatch(
          new RegExp(
            `^${second} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC +!\\S+ +\\$\\S+ +@alice:localhost +@bob:localhost +-50 +${mode} second$`,
          ),
        );
        const everything = okJson<{ event_reports: Report[] }>(
          await run(["report", "list", "--limit", "1", "--all", "--json"]),
        );
        expect(everything.event_reports.map((r) => r.id)).toEqual(all.event_reports.map((r) => r.id));
      });

      it("show and delete: the reported event with the report; the deletion audited; then unknown (exit 3)", async () => {
        const id = await report(`${mode} to delete`);
        const shown = okJson(await run(["report", "show", String(id), "--json"]));
        const api = (await cli.fx.as("GET", `${ADMIN}/v1/event_reports/${id}`)).body;
        const ageless = (r: Record<string, unknown>) => ({
          ...r,
          event_json: { ...(r.event_json as object), unsigned: {} },
        });
        expect(ageless(shown)).toEqual(ageless(api));
        const human = await run(["report", "show", String(id)]);
        expect(human.stdout).toMatch(/^reporter: +@bob:localhost$/m);
        expect(human.stdout).toMatch(/^room name: +Reported$/m);
        expect(human.stdout).toMatch(/^content: +\{"msgtype":"m\.text","body":"rude words"\}$/m);

        expect(await run(["report", "delete", String(id)])).toMatchObject({
          code: 0,
          stdout: `Deleted report ${id}\n`,
        });
        const rows = await auditRows(cli.fx.look);
        const entry = rows[rows.length - 1]!;
        expect(entry).toMatchObject({
          action: "event_report.delete",
          target: roomId,
          before: { id, event_id: eventId },
        });
        expect(entry.actor).toMatch(mode === "http" ? /^@root:localhost$/ : CLI_ACTOR);
        expectFailure(await run(["report", "show", String(id)]), 3, /Event report not found \(M_NOT_FOUND\)/);
        expectFailure(await run(["report", "delete", String(id)]), 3, /M_NOT_FOUND/);
      });

      it("bad input: one line and the documented exit code, the same in both modes", async () => {
        expectFailure(
          await run(["report", "show", "abc"]),
          1,
          /The report_id parameter must be a string representing a positive integer\. \(M_INVALID_PARAM\)/,
        );
        expectFailure(await run(["report", "delete", "-"]), 1, /M_INVALID_PARAM/);
        expectFailure(await run(["report", "list", "--dir", "up"]), 2);
        expectFailure(await run(["report", "list", "--room", "#nowhere:localhost"]), 3, /M_NOT_FOUND/);
      });
    });
  }
});
