/**
 * The audit log of admin writes, on SQLite and PostgreSQL: every admin write leaves one entry (who, what, whom,
 * before and after, when, from where) in the transaction of the change; refused and empty changes leave none; no
 * password or token ever reaches it; `GET /_gatehouse/admin/v1/audit` filters and pages it, newest first.
 */
import type { AuditEntry } from "../../src/db/admin-audit.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import {
  ADMIN,
  AUDIT,
  auditRows,
  enc,
  closeAdminFixture,
  promote,
  startAdminFixture,
  type AdminFixture,
} from "./support.js";

const user = (id: string) => `${ADMIN}/v2/users/${enc(id)}`;

type Entry = AuditEntry;

forEachDatabase((kind) => {
  let fx: AdminFixture;
  const secrets: string[] = [];
  beforeAll(async () => {
    fx = await startAdminFixture(kind);
  });
  afterAll(() => closeAdminFixture(fx));

  const last = async () => (await auditRows(fx.look)).at(-1)!;
  const count = async () => (await auditRows(fx.look)).length;

  describe("entries", () => {
    it("records a creation with a marker for the password", async () => {
      const pw = "first secret password";
      secrets.push(pw);
      const r = await fx.as("PUT", user("@ava:localhost"), {
        json: { password: pw, displayname: "Ava", admin: false },
      });
      expect(r.status, r.text).toBe(201);
      const e = await last();
      expect(e).toMatchObject({
        actor: fx.admin.userId,
        action: "user.create",
        target: "@ava:localhost",
        ip: "127.0.0.1",
        before: {},
        after: { admin: false, user_type: null, displayname: "Ava", password: "<set>" },
      });
      expect(Math.abs(e.ts - Date.now())).toBeLessThan(60_000);
    });

    it("records only the fields a modification changed, before and after", async () => {
      const pw = "second secret password";
      secrets.push(pw);
      await fx.as("PUT", user("@ava:localhost"), {
        json: { displayname: "Ava B", admin: true, password: pw, locked: false },
      });
      expect(await last()).toMatchObject({
        action: "user.modify",
        target: "@ava:localhost",
        before: { displayname: "Ava", admin: false, password: "<hidden>" },
        after: { displayname: "Ava B", admin: true, password: "<changed>", logout_devices: true },
      });
      expect(Object.keys((await last()).after).sort()).toEqual(["admin", "displayname", "logout_devices", "password"]);
    });

    it("records nothing for a refused change or one that changes nothing", async () => {
      const n = await count();
      await fx.as("PUT", user("@ava:localhost"), { json: { displayname: "Ava B", admin: true } });
      await fx.as("PUT", user("@ava:localhost"), { json: { admin: "no" } });
      await fx.as("PUT", user("@ava:localhost"), { json: { displayname: "Z", password: "x".repeat(600) } });
      await fx.as("PUT", `${ADMIN}/v1/users/${enc("@ava:localhost")}/admin`, { json: { admin: true } });
      expect(await count()).toBe(n);
      expect((await fx.as("GET", user("@ava:localhost"))).body.displayname).toBe("Ava B");
    });

    it("a change made through a login-as token records the admin who made the token", async () => {
      const other = await fx.user("opal");
      await promote(fx.look, other.userId);
      const made = await fx.as("POST", `${ADMIN}/v1/users/${enc(other.userId)}/login`, { json: {} });
      expect(made.status, made.text).toBe(200);
      const puppet = made.body.access_token as string;
      await fx.user("pia");
      const r = await fx.as("POST", `${ADMIN}/v1/users/${enc("@pia:localhost")}/shadow_ban`, { token: puppet });
      expect(r.status, r.text).toBe(200);
      const e = await last();
      expect(e).toMatchObject({ actor: other.userId, impersonator: fx.admin.userId, action: "user.shadow_ban" });
      const listed = await fx.as("GET", `${AUDIT}?action=user.shadow_ban&target=${enc("@pia:localhost")}`);
      expect((listed.body.entries as Entry[])[0]).toMatchObject({
        actor: other.userId,
        impersonator: fx.admin.userId,
      });
      // The admin's own token: no impersonator.
      await fx.as("DELETE", `${ADMIN}/v1/users/${enc("@pia:localhost")}/shadow_ban`);
      expect(await last()).toMatchObject({ actor: fx.admin.userId, impersonator: null });
    });

    it("records every other admin write", async () => {
      const s = await fx.user("ben", { device_id: "BENDEV" });
      const id = enc("@ben:localhost");
      const pw = "third secret password";
      secrets.push(pw);
      const steps: [string, string, { json?: unknown }, string, Record<string, unknown>, Record<string, unknown>][] = [
        [
          "PUT",
          `${ADMIN}/v1/users/${id}/admin`,
          { json: { admin: true } },
          "user.set_admin",
          { admin: false },
          { admin: true },
        ],
        [
          "PUT",
          `${ADMIN}/v1/users/${id}/admin`,
          { json: { admin: false } },
          "user.set_admin",
          { admin: true },
          { admin: false },
        ],
        [
          "POST",
          `${ADMIN}/v1/reset_password/${id}`,
          { json: { new_password: pw, logout_devices: false } },
          "user.reset_password",
          { password: "<hidden>" },
          { password: "<changed>", logout_devices: false },
        ],
        [
          "POST",
          `${ADMIN}/v1/users/${id}/login`,
          { json: { valid_until_ms: 4102444800000 } },
          "user.login_as",
          {},
          { valid_until_ms: 4102444800000 },
        ],
        [
          "POST",
          `${ADMIN}/v1/users/${id}/shadow_ban`,
          {},
          "user.shadow_ban",
          { shadow_banned: false },
          { shadow_banned: true },
        ],
        [
          "DELETE",
          `${ADMIN}/v1/users/${id}/shadow_ban`,
          {},
          "user.shadow_unban",
          { shadow_banned: true },
          { shadow_banned: false },
        ],
        [
          "PUT",
          `${ADMIN}/v1/suspend/${id}`,
          { json: { suspend: true } },
          "user.suspend",
          { suspended: false },
          { suspended: true },
        ],
        [
          "PUT",
          `${ADMIN}/v1/suspend/${id}`,
          { json: { suspend: false } },
          "user.unsuspend",
          { suspended: true },
          { suspended: false },
        ],
        [
          "POST",
          `${ADMIN}/v2/users/${id}/devices`,
          { json: { device_id: "ADDED" } },
          "device.create",
          {},
          { device_id: "ADDED" },
        ],
        [
          "PUT",
          `${ADMIN}/v2/users/${id}/devices/BENDEV`,
          { json: { display_name: "Ben's" } },
          "device.update",
          { device_id: "BENDEV", display_name: null },
          { device_id: "BENDEV", display_name: "Ben's" },
        ],
        [
          "DELETE",
          `${ADMIN}/v2/users/${id}/devices/ADDED`,
          {},
          "device.delete",
          { devices: ["ADDED"] },
          { devices: [] },
        ],
        [
          "POST",
          `${ADMIN}/v2/users/${id}/delete_devices`,
          { json: { devices: ["BENDEV", "NONE"] } },
          "device.delete",
          { devices: ["BENDEV"] },
          { devices: [] },
        ],
        [
          "POST",
          `${ADMIN}/v1/deactivate/${id}`,
          { json: { erase: true } },
          "user.deactivate",
          { deactivated: false, displayname: "ben", avatar_url: null, erased: false },
          { deactivated: true, erase: true, displayname: null, avatar_url: null, erased: true },
        ],
      ];
      for (const [method, path, options, action, before, after] of steps) {
        const r = await fx.as(method, path, options);
        expect(r.status, `${method} ${path}: ${r.text}`).toBeLessThan(300);
        if (typeof r.body.access_token === "string") secrets.push(r.body.access_token);
        expect(await last(), action).toMatchObject({
          action,
          target: "@ben:localhost",
          actor: fx.admin.userId,
          before,
          after,
        });
      }
      secrets.push(s.token);
    });

    it("never holds a password, a hash or a token", async () => {
      const rows = await auditRows(fx.look);
      expect(rows.length).toBeGreaterThan(10);
      const text = JSON.stringify(rows);
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/\$argon2|\$2[aby]\$|syt_|syr_/);
    });
  });

  describe("GET /_gatehouse/admin/v1/audit", () => {
    beforeAll(async () => {
      for (const name of ["c1", "c2", "c3"]) await fx.as("PUT", user(`@audit_${name}:localhost`), { json: {} });
    });

    it("lists entries newest first with filters", async () => {
      const all = await fx.as("GET", AUDIT);
      expect(all.status, all.text).toBe(200);
      const entries = all.body.entries as Entry[];
      expect(all.body.total).toBe(entries.length);
      expect(all.body.next_token).toBeUndefined();
      expect(entries.map((e) => e.id)).toEqual([...entries.map((e) => e.id)].sort((a, b) => b - a));
      expect(entries[0]).toMatchObject({ action: "user.create", target: "@audit_c3:localhost" });
      expect(Object.keys(entries[0]!).sort()).toEqual([
        "action",
        "actor",
        "after",
        "before",
        "id",
        "impersonator",
        "ip",
        "target",
        "ts",
      ]);

      const byTarget = await fx.as("GET", `${AUDIT}?target=${enc("@ava:localhost")}`);
      expect((byTarget.body.entries as Entry[]).map((e) => e.action)).toEqual(["user.modify", "user.create"]);
      const byAction = await fx.as("GET", `${AUDIT}?action=user.set_admin`);
      expect(byAction.body.total).toBe(2);
      const byActor = await fx.as("GET", `${AUDIT}?actor=${enc(fx.admin.userId)}`);
      // All but the one made through opal's login-as token.
      expect(byActor.body.total).toBe((all.body.total as number) - 1);
      expect((await fx.as("GET", `${AUDIT}?actor=${enc("@nobody:localhost")}`)).body).toEqual({
        entries: [],
        total: 0,
      });

      const ts = entries.map((e) => e.ts);
      const mid = ts[Math.floor(ts.length / 2)]!;
      const later = await fx.as("GET", `${AUDIT}?from_ts=${mid}`);
      expect((later.body.entries as Entry[]).every((e) => e.ts >= mid)).toBe(true);
      const earlier = await fx.as("GET", `${AUDIT}?to_ts=${mid}`);
      expect((earlier.body.entries as Entry[]).every((e) => e.ts <= mid)).toBe(true);
      expect((later.body.total as number) + (earlier.body.total as number)).toBeGreaterThanOrEqual(
        all.body.total as number,
      );
    });

    it("pages with limit and next_token", async () => {
      const all = (await fx.as("GET", AUDIT)).body.entries as Entry[];
      const seen: number[] = [];
      let from: string | undefined;
      for (let i = 0; i < 100; i++) {
        const r = await fx.as("GET", `${AUDIT}?limit=4${from ? `&from=${from}` : ""}`);
        expect(r.body.total).toBe(all.length);
        seen.push(...(r.body.entries as Entry[]).map((e) => e.id));
        from = r.body.next_token as string | undefined;
        if (!from) break;
      }
      expect(seen).toEqual(all.map((e) => e.id));
    });

    it("is for admins only, and checks its parameters", async () => {
      const s = await fx.user("plain");
      expectMatrixError(
        await fx.as("GET", AUDIT, { token: s.token }),
        403,
        "M_FORBIDDEN",
        "You are not a server admin",
      );
      expectMatrixError(await fx.as("GET", AUDIT, { token: null }), 401, "M_MISSING_TOKEN", "Missing access token");
      expectMatrixError(
        await fx.as("GET", `${AUDIT}?limit=-1`),
        400,
        "M_INVALID_PARAM",
        "Query parameter 'limit' must be a non-negative integer",
      );
      expectMatrixError(
        await fx.as("GET", `${AUDIT}?from_ts=yesterday`),
        400,
        "M_INVALID_PARAM",
        "Query parameter 'from_ts' must be an integer",
      );
    });
  });
});
