/**
 * `POST /_gatehouse/admin/v1/users/import` over real HTTP on SQLite and PostgreSQL: admins only, every field
 * type-checked with a Matrix error, the row limit, and the service's answer (a bad row is a result, not a refusal).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_IMPORT_ROWS } from "../../src/accounts/bulk-import.js";
import { loginRequest } from "../api/account-support.js";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { auditRows, closeAdminFixture, startAdminFixture, type AdminFixture } from "./support.js";

const IMPORT = "/_gatehouse/admin/v1/users/import";
/** Synapse's own bcrypt of "correct horse battery staple" (see passwords.test.ts). */
const SYNAPSE_HASH = "$2b$04$yEMxJvSR1Hm71ofdVTW89eDhlAVzO/FWg/DiQz/Cpd7aVBjK0v2CS";

forEachDatabase((kind) => {
  let fx: AdminFixture;
  beforeAll(async () => {
    fx = await startAdminFixture(kind, { bcrypt_rounds: 4, password_config: { algorithm: "bcrypt" } });
  });
  afterAll(() => closeAdminFixture(fx));

  const post = (json: unknown, token?: string | null) => fx.as("POST", IMPORT, { json, token });

  it("refuses a caller without a token, and one who is not an admin", async () => {
    expectMatrixError(await post({ rows: [] }, null), 401, "M_MISSING_TOKEN", "Missing access token");
    const mallory = await fx.user("mallory");
    const r = await post({ rows: [{ username: "sneaky", password_hash: SYNAPSE_HASH }] }, mallory.token);
    expectMatrixError(r, 403, "M_FORBIDDEN", "You are not a server admin");
    expect((await fx.as("GET", "/_synapse/admin/v2/users/@sneaky:localhost")).status).toBe(404);
  });

  it("imports rows and answers one result per row; the accounts log in", async () => {
    const r = await post({
      rows: [
        { line: 2, username: "imp-a", password_hash: SYNAPSE_HASH, displayname: "A", admin: true, email: "a@x.org" },
        { line: 3, username: "imp-b", password: "long enough", admin: "no", email: null },
        { line: 4, username: "imp-c", password_hash: "nope" },
      ],
      on_conflict: "skip",
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({
      stopped: false,
      results: [
        { line: 2, user_id: "@imp-a:localhost", outcome: "created" },
        { line: 3, user_id: "@imp-b:localhost", outcome: "created" },
        {
          line: 4,
          user_id: "@imp-c:localhost",
          outcome: "error",
          errcode: "M_INVALID_PARAM",
          error: expect.stringContaining("password_hash is not a bcrypt"),
        },
      ],
    });
    expect((await loginRequest(fx.url, "imp-a", "correct horse battery staple")).status).toBe(200);
    expect((await loginRequest(fx.url, "imp-b", "long enough")).status).toBe(200);
    const entries = (await auditRows(fx.look)).filter((e) => e.target?.startsWith("@imp-"));
    expect(entries.map((e) => [e.action, e.target, e.actor, e.ip])).toEqual([
      ["user.create", "@imp-a:localhost", fx.admin.userId, "127.0.0.1"],
      ["user.create", "@imp-b:localhost", fx.admin.userId, "127.0.0.1"],
    ]);
  });

  it("previews with dry_run, lines defaulting to positions, and stops by default", async () => {
    const r = await post({
      rows: [{ username: "dry-a", password_hash: SYNAPSE_HASH }, { username: "imp-a" }, { username: "dry-c" }],
      dry_run: true,
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({
      stopped: true,
      results: [
        { line: 1, user_id: "@dry-a:localhost", outcome: "would_create" },
        {
          line: 2,
          user_id: "@imp-a:localhost",
          outcome: "error",
          errcode: "M_USER_IN_USE",
          error: "User ID already taken.",
        },
      ],
    });
    expect((await fx.as("GET", "/_synapse/admin/v2/users/@dry-a:localhost")).status).toBe(404);
  });

  describe("a malformed request is refused whole", () => {
    const cases: [string, unknown, number, string, string][] = [
      ["rows missing", {}, 400, "M_MISSING_PARAM", "'rows' must be a list of rows"],
      ["rows not a list", { rows: {} }, 400, "M_MISSING_PARAM", "'rows' must be a list of rows"],
      ["a row not an object", { rows: ["alice"] }, 400, "M_INVALID_PARAM", "rows[0] must be an object"],
      ["no username", { rows: [{ password: "x" }] }, 400, "M_MISSING_PARAM", "rows[0].username must be a string"],
      [
        "an unknown field",
        { rows: [{ username: "a", pasword: "x", shell: "/bin/sh" }] },
        400,
        "M_INVALID_PARAM",
        "rows[0] has unknown fields: pasword, shell",
      ],
      [
        "a number for a string",
        { rows: [{ username: "a" }, { username: "b", password: 12345678 }] },
        400,
        "M_INVALID_PARAM",
        "rows[1].password must be a string or null",
      ],
      [
        "admin a number",
        { rows: [{ username: "a", admin: 1 }] },
        400,
        "M_INVALID_PARAM",
        "rows[0].admin must be a boolean",
      ],
      [
        "a bad line",
        { rows: [{ username: "a", line: 0 }] },
        400,
        "M_INVALID_PARAM",
        "rows[0].line must be a positive integer",
      ],
      ["dry_run a string", { rows: [], dry_run: "yes" }, 400, "M_INVALID_PARAM", "'dry_run' must be a boolean"],
      [
        "an unknown on_conflict",
        { rows: [], on_conflict: "overwrite" },
        400,
        "M_INVALID_PARAM",
        "'on_conflict' must be one of skip, update, stop",
      ],
    ];
    for (const [name, body, status, errcode, error] of cases) {
      it(name, async () => {
        expectMatrixError(await post(body), status, errcode, error);
      });
    }

    it("not JSON", async () => {
      expectMatrixError(await fx.as("POST", IMPORT, { body: "rows=1" }), 400, "M_NOT_JSON", "Content not JSON.");
    });

    it(`more than ${MAX_IMPORT_ROWS} rows (413), though the body is larger than the server-wide limit allows`, async () => {
      const rows = Array.from({ length: MAX_IMPORT_ROWS + 1 }, (_, i) => ({
        username: `big${i}`,
        password_hash: SYNAPSE_HASH,
        displayname: "Someone with a long enough name",
      }));
      expect(JSON.stringify({ rows }).length).toBeGreaterThan(1024 * 1024);
      expectMatrixError(
        await post({ rows }),
        413,
        "M_TOO_LARGE",
        `At most ${MAX_IMPORT_ROWS} rows per request (got ${MAX_IMPORT_ROWS + 1}); send them in batches`,
      );
      expect((await fx.as("GET", "/_synapse/admin/v2/users/@big0:localhost")).status).toBe(404);
    });

    it(`exactly ${MAX_IMPORT_ROWS} rows are accepted`, async () => {
      const rows = Array.from({ length: MAX_IMPORT_ROWS }, (_, i) => ({
        username: `max${i}`,
        password_hash: SYNAPSE_HASH,
      }));
      const r = await post({ rows, dry_run: true });
      expect(r.status, r.text.slice(0, 200)).toBe(200);
      expect((r.body.results as unknown[]).length).toBe(MAX_IMPORT_ROWS);
    });
  });
});
