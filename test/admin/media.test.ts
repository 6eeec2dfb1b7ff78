/**
 * Synapse's media admin API over real HTTP on SQLite and PostgreSQL: a user's media listed and deleted page by
 * page, deletes by ID and by age (files go with their last row, avatars, quarantined and protected media stay),
 * quarantine that downloads obey and protection overrides, a room's media, media info, erasure on deactivation;
 * every write audited, non-admins refused, Synapse's errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findServable } from "../../src/media/read.js";
import { expectMatrixError } from "../api/support.js";
import { forEachDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { putMedia, putThumbnail } from "./media-support.js";
import { ADMIN, auditRows, closeAdminFixture, enc, startAdminFixture, type AdminFixture } from "./support.js";

const HS = "localhost";
const V1 = `${ADMIN}/v1`;
const DAY = 24 * 3600_000;

forEachDatabase((kind) => {
  let fx: AdminFixture;
  beforeAll(async () => {
    fx = await startAdminFixture(kind, { rc_message: { per_second: 100, burst_count: 100 } });
  });
  afterAll(() => closeAdminFixture(fx));

  const running = () => fx.server.server;
  const row = (id: string) => running().media.stores.localMedia.get(id);
  const fileExists = (sha: string) => running().media.storage.exists(sha);
  const lastAudit = async () => (await auditRows(fx.look)).at(-1)!;
  const auditCount = async () => (await auditRows(fx.look)).length;
  const servable = (mediaId: string) =>
    findServable(running().media, { serverName: HS, mediaId, legacy: false, timeoutMs: 0 });

  it("refuses non-admins (403 M_FORBIDDEN) and callers without a token (401) on every route", async () => {
    const user = await fx.user("plain");
    const routes: [string, string][] = [
      ["GET", `${V1}/users/${enc(user.userId)}/media`],
      ["DELETE", `${V1}/users/${enc(user.userId)}/media`],
      ["GET", `${V1}/media/${HS}/abc`],
      ["DELETE", `${V1}/media/${HS}/abc`],
      ["POST", `${V1}/media/delete?before_ts=40000000000`],
      ["POST", `${V1}/media/${HS}/delete?before_ts=40000000000`],
      ["POST", `${V1}/media/quarantine/${HS}/abc`],
      ["POST", `${V1}/media/unquarantine/${HS}/abc`],
      ["POST", `${V1}/media/protect/abc`],
      ["POST", `${V1}/media/unprotect/abc`],
      ["POST", `${V1}/room/${enc("!r:localhost")}/media/quarantine`],
      ["POST", `${V1}/quarantine_media/${enc("!r:localhost")}`],
      ["POST", `${V1}/user/${enc(user.userId)}/media/quarantine`],
      ["GET", `${V1}/room/${enc("!r:localhost")}/media`],
      ["POST", `${V1}/purge_media_cache?before_ts=40000000000`],
    ];
    for (const [method, path] of routes) {
      const r = await fx.as(method, path, { token: user.token, ...(method === "POST" ? { json: {} } : {}) });
      expect([path, r.status, r.body.errcode]).toEqual([path, 403, "M_FORBIDDEN"]);
      const anon = await fx.as(method, path, { token: null, ...(method === "POST" ? { json: {} } : {}) });
      expect([path, anon.status]).toEqual([path, 401]);
    }
  });

  describe("a user's media", () => {
    let userId: string;
    beforeAll(async () => {
      userId = (await fx.user("lister")).userId;
      await putMedia(running(), { mediaId: "listA", userId, bytes: "aaaa", createdTs: 1000, uploadName: "z.png" });
      await putMedia(running(), { mediaId: "listB", userId, bytes: "bb", createdTs: 3000, uploadName: "a.png" });
      await putMedia(running(), { mediaId: "listC", userId, bytes: "cccccc", createdTs: 2000, uploadName: null });
    });
    const list = (query = "") => fx.as("GET", `${V1}/users/${enc(userId)}/media${query}`);

    it("lists them newest first by default with Synapse's fields", async () => {
      const r = await list();
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        total: 3,
        media: [
          {
            media_id: "listB",
            media_type: "image/png",
            media_length: 2,
            upload_name: "a.png",
            created_ts: 3000,
            last_access_ts: null,
            quarantined_by: null,
            safe_from_quarantine: false,
          },
          expect.objectContaining({ media_id: "listC", upload_name: null, media_length: 6 }),
          expect.objectContaining({ media_id: "listA" }),
        ],
      });
    });

    it("orders by order_by and dir (dir f by default once either is given) and pages with next_token", async () => {
      const ids = (b: Record<string, unknown>) => (b.media as { media_id: string }[]).map((m) => m.media_id);
      expect(ids((await list("?order_by=media_length")).body)).toEqual(["listB", "listA", "listC"]);
      expect(ids((await list("?order_by=media_length&dir=b")).body)).toEqual(["listC", "listA", "listB"]);
      expect(ids((await list("?dir=f")).body)).toEqual(["listA", "listC", "listB"]);
      const first = await list("?order_by=created_ts&dir=f&limit=2");
      expect(first.body).toMatchObject({ total: 3, next_token: 2 });
      expect(ids(first.body)).toEqual(["listA", "listC"]);
      const second = await list("?order_by=created_ts&dir=f&limit=2&from=2");
      expect(second.body.next_token).toBeUndefined();
      expect(ids(second.body)).toEqual(["listB"]);
    });

    it("answers bad parameters and users with Synapse's errors", async () => {
      expectMatrixError(
        await list("?from=-1"),
        400,
        "M_INVALID_PARAM",
        "Query parameter from must be a string representing a positive integer.",
      );
      expect((await list("?order_by=sha256")).body.errcode).toBe("M_INVALID_PARAM");
      expect((await list("?dir=x")).body.errcode).toBe("M_INVALID_PARAM");
      expectMatrixError(
        await fx.as("GET", `${V1}/users/${enc("@x:elsewhere")}/media`),
        400,
        "M_UNKNOWN",
        "Can only look up local users",
      );
      expectMatrixError(
        await fx.as("GET", `${V1}/users/${enc("@nobody:localhost")}/media`),
        404,
        "M_NOT_FOUND",
        "Unknown user",
      );
    });

    it("DELETE deletes the page the same query lists, audited per item", async () => {
      const r = await fx.as("DELETE", `${V1}/users/${enc(userId)}/media?order_by=created_ts&dir=f&limit=2`);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ deleted_media: ["listA", "listC"], total: 2 });
      expect(await row("listA")).toBeNull();
      expect(await row("listB")).not.toBeNull();
      const entries = (await auditRows(fx.look)).slice(-2);
      expect(entries.map((e) => [e.action, e.target, e.actor])).toEqual([
        ["media.delete", `mxc://${HS}/listA`, fx.admin.userId],
        ["media.delete", `mxc://${HS}/listC`, fx.admin.userId],
      ]);
    });
  });

  describe("one media item", () => {
    let userId: string;
    beforeAll(async () => {
      userId = (await fx.user("owner")).userId;
    });

    it("GET media info gives the row in Synapse's shape; unknown is 404", async () => {
      const sha = await putMedia(running(), { mediaId: "info1", userId, bytes: "info", createdTs: 5000 });
      const r = await fx.as("GET", `${V1}/media/${HS}/info1`);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        media_info: {
          media_id: "info1",
          media_type: "image/png",
          media_length: 4,
          upload_name: "info1.png",
          created_ts: 5000,
          url_cache: null,
          last_access_ts: null,
          quarantined_by: null,
          safe_from_quarantine: false,
          user_id: userId,
          authenticated: true,
          sha256: sha,
        },
      });
      expectMatrixError(await fx.as("GET", `${V1}/media/${HS}/nope`), 404, "M_NOT_FOUND", "Unknown media");
      expectMatrixError(await fx.as("GET", `${V1}/media/other.example/info1`), 404, "M_NOT_FOUND", "Unknown media");
    });

    it("DELETE removes the row, its thumbnails and files no other row names", async () => {
      const shared = await putMedia(running(), { mediaId: "del1", userId, bytes: "same bytes" });
      await putMedia(running(), { mediaId: "del2", userId, bytes: "same bytes" });
      const thumb = await putThumbnail(running(), "del1", "thumb of del1");
      const n = await auditCount();

      const r = await fx.as("DELETE", `${V1}/media/${HS}/del1`);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ deleted_media: ["del1"], total: 1 });
      expect(await row("del1")).toBeNull();
      expect(await running().media.stores.mediaThumbnails.forMedia("del1")).toEqual([]);
      expect(await fileExists(thumb)).toBe(false);
      // del2 still names the same bytes.
      expect(await fileExists(shared)).toBe(true);
      expect(await auditCount()).toBe(n + 1);
      expect(await lastAudit()).toMatchObject({ action: "media.delete", target: `mxc://${HS}/del1` });

      await fx.as("DELETE", `${V1}/media/${HS}/del2`);
      expect(await fileExists(shared)).toBe(false);
    });

    it("DELETE answers Synapse's errors: another server 400, unknown media 404, no audit entry", async () => {
      const n = await auditCount();
      expectMatrixError(
        await fx.as("DELETE", `${V1}/media/other.example/x`),
        400,
        "M_UNKNOWN",
        "Can only delete local media",
      );
      expectMatrixError(await fx.as("DELETE", `${V1}/media/${HS}/missing`), 404, "M_NOT_FOUND", "Unknown media");
      expect(await auditCount()).toBe(n);
    });

    it("quarantine makes downloads refuse; unquarantine serves again; both audited", async () => {
      await putMedia(running(), { mediaId: "q1", userId, bytes: "quarantine me" });
      expect((await servable("q1")).mediaId).toBe("q1");
      const r = await fx.as("POST", `${V1}/media/quarantine/${HS}/q1`, { json: {} });
      expect([r.status, r.body]).toEqual([200, {}]);
      expect((await row("q1"))?.quarantinedBy).toBe(fx.admin.userId);
      await expect(servable("q1")).rejects.toMatchObject({ errcode: "M_NOT_FOUND" });
      expect(await lastAudit()).toMatchObject({
        action: "media.quarantine",
        target: `mxc://${HS}/q1`,
        before: { quarantined_by: null },
        after: { quarantined_by: fx.admin.userId },
      });

      await fx.as("POST", `${V1}/media/unquarantine/${HS}/q1`, { json: {} });
      expect((await row("q1"))?.quarantinedBy).toBeNull();
      expect((await servable("q1")).mediaId).toBe("q1");
      expect(await lastAudit()).toMatchObject({ action: "media.unquarantine", after: { quarantined_by: null } });
    });

    it("protected media is never quarantined; unknown media answers {} and leaves no entry", async () => {
      await putMedia(running(), { mediaId: "p1", userId, bytes: "protect me" });
      expect((await fx.as("POST", `${V1}/media/protect/p1`, { json: {} })).body).toEqual({});
      expect(await lastAudit()).toMatchObject({
        action: "media.protect",
        target: `mxc://${HS}/p1`,
        after: { safe_from_quarantine: true },
      });
      const n = await auditCount();
      await fx.as("POST", `${V1}/media/quarantine/${HS}/p1`, { json: {} });
      expect((await row("p1"))?.quarantinedBy).toBeNull();
      expect((await fx.as("POST", `${V1}/media/quarantine/${HS}/unknown`, { json: {} })).body).toEqual({});
      expect((await fx.as("POST", `${V1}/media/protect/unknown`, { json: {} })).body).toEqual({});
      expect(await auditCount()).toBe(n);

      await fx.as("POST", `${V1}/media/unprotect/p1`, { json: {} });
      expect(await lastAudit()).toMatchObject({ action: "media.unprotect", after: { safe_from_quarantine: false } });
      await fx.as("POST", `${V1}/media/quarantine/${HS}/p1`, { json: {} });
      expect((await row("p1"))?.quarantinedBy).toBe(fx.admin.userId);
    });

    it("quarantines all of a user's unprotected media", async () => {
      const u = (await fx.user("uq")).userId;
      for (const id of ["uq1", "uq2", "uq3"]) await putMedia(running(), { mediaId: id, userId: u, bytes: id });
      await fx.as("POST", `${V1}/media/protect/uq3`, { json: {} });
      const r = await fx.as("POST", `${V1}/user/${enc(u)}/media/quarantine`, { json: {} });
      expect([r.status, r.body]).toEqual([200, { num_quarantined: 2 }]);
      expect((await row("uq1"))?.quarantinedBy).toBe(fx.admin.userId);
      expect((await row("uq3"))?.quarantinedBy).toBeNull();
      expect(await lastAudit()).toMatchObject({
        action: "media.quarantine_user",
        target: u,
        after: { num_quarantined: 2 },
      });
    });
  });

  describe("deleting by age", () => {
    const NOW = Date.now();
    const OLD = NOW - 10 * DAY;
    let userId: string;
    beforeAll(async () => {
      userId = (await fx.user("ager")).userId;
      await putMedia(running(), { mediaId: "oldBig", userId, bytes: "x".repeat(100), createdTs: OLD });
      await putMedia(running(), { mediaId: "oldSmall", userId, bytes: "x", createdTs: OLD });
      await putMedia(running(), { mediaId: "oldAvatar", userId, bytes: "avatar", createdTs: OLD });
      await putMedia(running(), { mediaId: "oldQuar", userId, bytes: "quarantined", createdTs: OLD });
      await putMedia(running(), { mediaId: "oldSafe", userId, bytes: "protected", createdTs: OLD });
      await putMedia(running(), { mediaId: "oldUsed", userId, bytes: "accessed lately", createdTs: OLD });
      await putMedia(running(), { mediaId: "fresh", userId, bytes: "new", createdTs: NOW });
      await running().media.stores.localMedia.markAccessed(["oldUsed"], NOW);
      await running().media.stores.users.setProfile(userId, { avatarUrl: `mxc://${HS}/oldAvatar` });
      await fx.as("POST", `${V1}/media/quarantine/${HS}/oldQuar`, { json: {} });
      await fx.as("POST", `${V1}/media/protect/oldSafe`, { json: {} });
    });
    const before = NOW - DAY;

    it("checks before_ts and size_gt as Synapse does", async () => {
      const n = await auditCount();
      expect((await fx.as("POST", `${V1}/media/delete`, { json: {} })).body.errcode).toBe("M_MISSING_PARAM");
      expectMatrixError(
        await fx.as("POST", `${V1}/media/delete?before_ts=1700000000`, { json: {} }),
        400,
        "M_INVALID_PARAM",
        "Query parameter before_ts you provided is from the year 1970. " +
          "Double check that you are providing a timestamp in milliseconds.",
      );
      expectMatrixError(
        await fx.as("POST", `${V1}/media/delete?before_ts=-1`, { json: {} }),
        400,
        "M_INVALID_PARAM",
        "Query parameter before_ts must be a positive integer.",
      );
      expectMatrixError(
        await fx.as("POST", `${V1}/media/delete?before_ts=${before}&size_gt=-1`, { json: {} }),
        400,
        "M_INVALID_PARAM",
        "Query parameter size_gt must be a string representing a positive integer.",
      );
      expectMatrixError(
        await fx.as("POST", `${V1}/media/other.example/delete?before_ts=${before}`, { json: {} }),
        400,
        "M_UNKNOWN",
        "Can only delete local media",
      );
      expect(await auditCount()).toBe(n);
    });

    it("deletes old unused media above size_gt, keeping avatars, quarantined and protected media", async () => {
      const r = await fx.as("POST", `${V1}/media/${HS}/delete?before_ts=${before}&size_gt=10`, { json: {} });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ deleted_media: ["oldBig"], total: 1 });
      // Without size_gt: the small one too (and the earlier tests' media made at the dawn of time).
      const again = await fx.as("POST", `${V1}/media/delete?before_ts=${before}`, { json: {} });
      expect(again.body.deleted_media).toContain("oldSmall");
      expect(again.body.total).toBe((again.body.deleted_media as string[]).length);
      for (const id of ["oldAvatar", "oldQuar", "oldSafe", "oldUsed", "fresh"]) expect(await row(id)).not.toBeNull();
      const profiles = await fx.as("POST", `${V1}/media/delete?before_ts=${before}&keep_profiles=false`, {
        json: {},
      });
      expect(profiles.body).toEqual({ deleted_media: ["oldAvatar"], total: 1 });
      expect(await lastAudit()).toMatchObject({ action: "media.delete", target: `mxc://${HS}/oldAvatar` });
    });
  });

  describe("a room's media", () => {
    let roomId: string;
    beforeAll(async () => {
      const member = await fx.user("roomy");
      const made = await call(fx.url, "POST", "/_matrix/client/v3/createRoom", { token: member.token, json: {} });
      roomId = made.body.room_id as string;
      await putMedia(running(), { mediaId: "roomImg", userId: member.userId, bytes: "room image" });
      await putMedia(running(), { mediaId: "roomThumb", userId: member.userId, bytes: "room thumb" });
      await putMedia(running(), { mediaId: "roomSafe", userId: member.userId, bytes: "room safe" });
      const send = (txn: string, content: Record<string, unknown>) =>
        call(fx.url, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${txn}`, {
          token: member.token,
          json: content,
        });
      const image = {
        msgtype: "m.image",
        body: "i.png",
        url: `mxc://${HS}/roomImg`,
        info: { thumbnail_url: `mxc://${HS}/roomThumb` },
      };
      expect((await send("t1", image)).status).toBe(200);
      expect((await send("t2", { msgtype: "m.file", body: "f", url: "mxc://remote.example/abc?x" })).status).toBe(200);
      expect((await send("t3", { msgtype: "m.image", body: "s", url: `mxc://${HS}/roomSafe` })).status).toBe(200);
      // A thumbnail_url without a url is not looked at (Synapse's contains_url).
      expect(
        (await send("t4", { msgtype: "m.text", body: "mxc://x/y", info: { thumbnail_url: "mxc://a/b" } })).status,
      ).toBe(200);
    });

    it("lists the mxc URIs the room's events name, local and remote", async () => {
      const r = await fx.as("GET", `${V1}/room/${enc(roomId)}/media`);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        local: [`mxc://${HS}/roomImg`, `mxc://${HS}/roomThumb`, `mxc://${HS}/roomSafe`],
        remote: ["mxc://remote.example/abc"],
      });
      expectMatrixError(
        await fx.as("GET", `${V1}/room/${enc("!nope:localhost")}/media`),
        404,
        "M_NOT_FOUND",
        "Room not found",
      );
    });

    it("quarantines the room's unprotected local media, also through the older path", async () => {
      await fx.as("POST", `${V1}/media/protect/roomSafe`, { json: {} });
      const r = await fx.as("POST", `${V1}/room/${enc(roomId)}/media/quarantine`, { json: {} });
      expect([r.status, r.body]).toEqual([200, { num_quarantined: 2 }]);
      expect((await row("roomThumb"))?.quarantinedBy).toBe(fx.admin.userId);
      expect((await row("roomSafe"))?.quarantinedBy).toBeNull();
      expect(await lastAudit()).toMatchObject({ action: "media.quarantine_room", target: roomId });
      await fx.as("POST", `${V1}/media/unquarantine/${HS}/roomImg`, { json: {} });
      const alias = await fx.as("POST", `${V1}/quarantine_media/${enc(roomId)}`, { json: {} });
      expect(alias.body.num_quarantined).toBeGreaterThanOrEqual(1);
      expect((await row("roomImg"))?.quarantinedBy).toBe(fx.admin.userId);
    });
  });

  it("purge_media_cache has no remote cache to purge, and checks before_ts", async () => {
    const r = await fx.as("POST", `${V1}/purge_media_cache?before_ts=${Date.now()}`, { json: {} });
    expect([r.status, r.body]).toEqual([200, { deleted: 0 }]);
    expect((await fx.as("POST", `${V1}/purge_media_cache`, { json: {} })).body.errcode).toBe("M_MISSING_PARAM");
  });

  describe("deactivation", () => {
    it("with erase removes the user's media and files; without erase keeps them", async () => {
      const erased = await fx.user("erased");
      const kept = await fx.user("kept");
      const sha = await putMedia(running(), { mediaId: "er1", userId: erased.userId, bytes: "erase me" });
      await putMedia(running(), { mediaId: "er2", userId: erased.userId, bytes: "erase me too" });
      await running().media.stores.localMedia.insertPending({
        mediaId: "er3",
        userId: erased.userId,
        createdTs: Date.now(),
        authenticated: true,
      });
      await putMedia(running(), { mediaId: "kp1", userId: kept.userId, bytes: "keep me" });

      const r = await fx.as("POST", `${V1}/deactivate/${enc(erased.userId)}`, { json: { erase: true } });
      expect(r.status, r.text).toBe(200);
      for (const id of ["er1", "er2", "er3"]) expect(await row(id)).toBeNull();
      expect(await fileExists(sha)).toBe(false);

      const k = await fx.as("POST", `${V1}/deactivate/${enc(kept.userId)}`, { json: { erase: false } });
      expect(k.status, k.text).toBe(200);
      expect(await row("kp1")).not.toBeNull();
    });

    it("through the client API with erase too", async () => {
      const self = await fx.user("selferase");
      await putMedia(running(), { mediaId: "se1", userId: self.userId, bytes: "self erase" });
      const body = {
        erase: true,
        auth: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: self.userId },
          password: "correct horse battery staple",
        },
      };
      const r = await call(fx.url, "POST", "/_matrix/client/v3/account/deactivate", { token: self.token, json: body });
      expect(r.status, r.text).toBe(200);
      expect(await row("se1")).toBeNull();
    });
  });
});
