/**
 * The media jobs in a running server on SQLite and PostgreSQL: async uploads whose content never came are purged
 * once `unused_expiration_time` has passed (an unexpired or filled one stays); an erased user's media that the
 * deactivation left behind (its erasure cut off) is deleted with its file; of two processes, one runs each job.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scheduledJobsStore } from "../../src/db/scheduled-jobs.js";
import { mediaJobs } from "../../src/jobs/purges.js";
import { JobRunner } from "../../src/jobs/runner.js";
import { forEachDatabase } from "../helpers/databases.js";
import { putMedia } from "../admin/media-support.js";
import { ADMIN, closeAdminFixture, enc, startAdminFixture, type AdminFixture } from "../admin/support.js";

forEachDatabase((kind) => {
  describe("media jobs", () => {
    let fx: AdminFixture;
    beforeAll(async () => {
      // The server's own runner is off, so only the runners made here claim jobs.
      fx = await startAdminFixture(kind, { background_jobs: { enabled: false } });
    });
    afterAll(() => closeAdminFixture(fx));

    const media = () => fx.server.server.media;
    /** One process's runner over the media jobs. */
    const runner = () =>
      new JobRunner(mediaJobs(media()), {
        store: scheduledJobsStore(fx.server.server.db.kysely),
        now: Date.now,
        log: () => {},
      });
    const due = () => fx.look.kysely.updateTable("scheduled_jobs").set({ next_run_at: 0 }).execute();

    it("purges async uploads whose content never came, once unused_expiration_time has passed", async () => {
      const { localMedia } = media().stores;
      const expiry = media().media.unused_expiration_time;
      const now = Date.now();
      const pending = (mediaId: string, createdTs: number) =>
        localMedia.insertPending({ mediaId, userId: fx.admin.userId, createdTs, authenticated: true });
      await pending("expired1", now - expiry - 60_000);
      await pending("expired2", now - expiry - 1_000);
      await pending("waiting", now - expiry + 600_000);
      await pending("filledLate", now - expiry - 60_000);
      await localMedia.fill("filledLate", {
        mediaType: "text/plain",
        mediaLength: 1,
        uploadName: null,
        sha256: "0".repeat(64),
        quarantinedBy: null,
      });

      await due();
      expect(await runner().runDue()).toContain("purge_expired_media_uploads");
      expect(await localMedia.get("expired1")).toBeNull();
      expect(await localMedia.get("expired2")).toBeNull();
      expect(await localMedia.get("waiting")).not.toBeNull();
      expect(await localMedia.get("filledLate")).not.toBeNull();
      const row = await fx.look.kysely
        .selectFrom("scheduled_jobs")
        .select("last_result")
        .where("name", "=", "purge_expired_media_uploads")
        .executeTakeFirstOrThrow();
      expect(row.last_result).toBe("ok: deleted 2");
    });

    it("finishes the erasure of an erased user's media", async () => {
      const gone = await fx.user("gone");
      const r = await fx.as("POST", `${ADMIN}/v1/deactivate/${enc(gone.userId)}`, { json: { erase: true } });
      expect(r.status, r.text).toBe(200);
      // As if the erasure after the deactivation had been cut off: media of the erased user is still there.
      const sha = await putMedia(fx.server.server, { mediaId: "leftover", userId: gone.userId, bytes: "left over" });
      const kept = await fx.user("stays");
      await putMedia(fx.server.server, { mediaId: "staysMedia", userId: kept.userId, bytes: "stays" });

      await due();
      expect(await runner().runDue()).toContain("purge_erased_users_media");
      expect(await media().stores.localMedia.get("leftover")).toBeNull();
      expect(await media().storage.exists(sha)).toBe(false);
      expect(await media().stores.localMedia.get("staysMedia")).not.toBeNull();
    });

    it("of two processes' runners, exactly one runs each media job", async () => {
      await due();
      const [a, b] = await Promise.all([runner().runDue(), runner().runDue()]);
      expect([...a, ...b].sort()).toEqual([
        "purge_erased_users_media",
        "purge_expired_media_uploads",
        "purge_url_cache",
      ]);
    });
  });
});
