/**
 * @module Synapse's media admin operations (`synapse/rest/admin/media.py`): a user's media, deleting media (by ID,
 * by user, by age), quarantine and protection, the media a room's events name, and one item's row. Every change an
 * admin makes is audited in the transaction of the change; a change that touches nothing leaves no entry.
 *
 * Deleting removes the rows (media and thumbnails) in one transaction, then each file no row names any more
 * (src/media/blobs.ts). Jobs and erasure use the same `deleteMediaIds`, with no actor.
 */
import { recordAudit, recordAudits, type AdminActor } from "../accounts/audit.js";
import type { LocalMedia } from "../db/media.js";
import type { OldMediaQuery } from "../db/media-admin.js";
import type { MediaOrderColumn } from "../db/media-order-columns.js";
import { ErrCode, MatrixError } from "../errors.js";
import { releaseBlobs } from "./blobs.js";
import type { MediaContext } from "./context.js";
import { MEDIA_ID_RE } from "./read.js";

/** How many rows one delete transaction removes at most. */
export const DELETE_BATCH = 500;

/** One item of `GET /_synapse/admin/v1/users/{userId}/media`, with Synapse's fields. */
export interface UserMediaItem {
  media_id: string;
  media_type: string | null;
  media_length: number | null;
  upload_name: string | null;
  created_ts: number;
  last_access_ts: number | null;
  quarantined_by: string | null;
  safe_from_quarantine: boolean;
}

export interface UserMediaList {
  media: UserMediaItem[];
  total: number;
  next_token?: number;
}

export interface DeletedMedia {
  deleted_media: string[];
  total: number;
}

/** `media_info` of `GET /_synapse/admin/v1/media/{serverName}/{mediaId}`: Synapse's `LocalMedia` as a dict. */
export interface MediaInfo {
  media_id: string;
  media_type: string | null;
  media_length: number | null;
  upload_name: string | null;
  created_ts: number;
  url_cache: null;
  last_access_ts: number | null;
  quarantined_by: string | null;
  safe_from_quarantine: boolean;
  user_id: string;
  authenticated: boolean;
  sha256: string | null;
}

export function mxcOf(ctx: MediaContext, mediaId: string): string {
  return `mxc://${ctx.serverName}/${mediaId}`;
}

function userItem(m: LocalMedia): UserMediaItem {
  return {
    media_id: m.mediaId,
    media_type: m.mediaType,
    media_length: m.mediaLength,
    upload_name: m.uploadName,
    created_ts: m.createdTs,
    last_access_ts: m.lastAccessTs,
    quarantined_by: m.quarantinedBy,
    safe_from_quarantine: m.safeFromQuarantine,
  };
}

/** The user's media, one page; `next_token` when there are more (Synapse's rule: `from + limit < total`). */
export async function listUserMedia(
  ctx: MediaContext,
  userId: string,
  page: { from: number; limit: number; orderBy: MediaOrderColumn; dir: "f" | "b" },
): Promise<UserMediaList> {
  const { media, total } = await ctx.stores.mediaAdmin.listForUser(userId, page);
  const out: UserMediaList = { media: media.map(userItem), total };
  if (page.from + page.limit < total) out.next_token = page.from + media.length;
  return out;
}

/**
 * Deletes these media items (their thumbnails and, once unused, their files); unknown IDs are skipped. Audited
 * per item when an admin asks (`actor`); the jobs and erasure pass null.
 */
export async function deleteMediaIds(
  ctx: MediaContext,
  actor: AdminActor | null,
  mediaIds: readonly string[],
): Promise<DeletedMedia> {
  const deleted: string[] = [];
  for (let i = 0; i < mediaIds.length; i += DELETE_BATCH) {
    const batch = mediaIds.slice(i, i + DELETE_BATCH);
    const { ids, files } = await ctx.stores.transaction(async (t) => {
      const ids: string[] = [];
      const files: (string | null)[] = [];
      for (const id of batch) {
        const row = await t.localMedia.delete(id);
        if (!row) continue;
        ids.push(id);
        files.push(row.sha256, ...(await t.mediaThumbnails.deleteForMedia(id)));
      }
      if (actor && ids.length > 0) {
        const entries = ids.map((id) => ({ action: "media.delete", target: mxcOf(ctx, id), before: {}, after: {} }));
        await recordAudits(t, ctx, actor, entries);
      }
      return { ids, files };
    });
    // After the commit: the check that no row names a file must see every other row.
    await releaseBlobs(ctx, ctx.stores, files);
    deleted.push(...ids);
  }
  return { deleted_media: deleted, total: deleted.length };
}

/** `DELETE /media/{serverName}/{mediaId}`: Synapse's 400 for another server, 404 for unknown media. */
export async function deleteOneMedia(
  ctx: MediaContext,
  actor: AdminActor,
  serverName: string,
  mediaId: string,
): Promise<DeletedMedia> {
  if (serverName !== ctx.serverName) throw new MatrixError(ErrCode.Unknown, "Can only delete local media");
  if (!MEDIA_ID_RE.test(mediaId) || (await ctx.stores.localMedia.get(mediaId)) === null) {
    throw new MatrixError(ErrCode.NotFound, "Unknown media");
  }
  return deleteMediaIds(ctx, actor, [mediaId]);
}

/** `POST /media/delete`: media created and last accessed before `beforeTs`, larger than `sizeGt`. */
export async function deleteOldMedia(
  ctx: MediaContext,
  actor: AdminActor,
  query: Omit<OldMediaQuery, "mxcPrefix">,
): Promise<DeletedMedia> {
  const q = { ...query, mxcPrefix: `mxc://${ctx.serverName}/` };
  const deleted: string[] = [];
  for (;;) {
    const ids = await ctx.stores.mediaAdmin.oldMedia(q, DELETE_BATCH);
    if (ids.length === 0) break;
    const r = await deleteMediaIds(ctx, actor, ids);
    deleted.push(...r.deleted_media);
    // Nothing deleted (another process took them): the next query would find the same rows again.
    if (r.total === 0 || ids.length < DELETE_BATCH) break;
  }
  return { deleted_media: deleted, total: deleted.length };
}

/**
 * Quarantines (`quarantine` true) or releases one media item. Synapse answers `{}` whether or not the item exists;
 * protected media is never quarantined. Audited when the row changed.
 */
export async function setMediaQuarantine(
  ctx: MediaContext,
  actor: AdminActor,
  serverName: string,
  mediaId: string,
  quarantine: boolean,
): Promise<void> {
  // Remote media is not cached yet: there is nothing of another server's to quarantine.
  if (serverName !== ctx.serverName) return;
  await ctx.stores.transaction(async (t) => {
    const before = await t.localMedia.get(mediaId);
    if (!before) return;
    const n = await t.mediaAdmin.setQuarantinedMany([mediaId], quarantine ? actor.userId : null);
    const after = await t.localMedia.get(mediaId);
    if (n === 0 || after?.quarantinedBy === before.quarantinedBy) return;
    await recordAudit(
      t,
      ctx,
      actor,
      quarantine ? "media.quarantine" : "media.unquarantine",
      mxcOf(ctx, mediaId),
      { quarantined_by: before.quarantinedBy },
      { quarantined_by: after?.quarantinedBy ?? null },
    );
  });
}

/** `POST /media/protect/{mediaId}` and `unprotect`: `{}` whether or not it exists; audited when it changed. */
export async function setMediaProtected(
  ctx: MediaContext,
  actor: AdminActor,
  mediaId: string,
  safe: boolean,
): Promise<void> {
  await ctx.stores.transaction(async (t) => {
    const before = await t.localMedia.get(mediaId);
    if (!before || before.safeFromQuarantine === safe) return;
    await t.localMedia.setSafeFromQuarantine(mediaId, safe);
    await recordAudit(
      t,
      ctx,
      actor,
      safe ? "media.protect" : "media.unprotect",
      mxcOf(ctx, mediaId),
      { safe_from_quarantine: !safe },
      { safe_from_quarantine: safe },
    );
  });
}

/** `POST /user/{userId}/media/quarantine`: every unprotected item of the user; `num_quarantined` as Synapse. */
export async function quarantineUserMedia(ctx: MediaContext, actor: AdminActor, userId: string): Promise<number> {
  return ctx.stores.transaction(async (t) => {
    const n = await t.mediaAdmin.quarantineForUser(userId, actor.userId);
    if (n > 0) await recordAudit(t, ctx, actor, "media.quarantine_user", userId, {}, { num_quarantined: n });
    return n;
  });
}

/** Synapse's `mxc_re`: `mxc://<server>/<media_id>`, the media ID ending at `/`, `#` or `?`. */
const MXC_RE = /^mxc:\/\/([^/]+)\/([^/#?]+)/;

/** The media a room's events name in `content.url` or `content.info.thumbnail_url`, as Synapse finds them. */
export async function roomMediaMxcs(ctx: MediaContext, roomId: string): Promise<{ local: string[]; remote: string[] }> {
  const local: string[] = [];
  const remote: string[] = [];
  for (const json of await ctx.stores.mediaAdmin.eventJsonWithMxc(roomId)) {
    const content = (JSON.parse(json) as { content?: unknown }).content;
    if (typeof content !== "object" || content === null) continue;
    const { url, info } = content as { url?: unknown; info?: unknown };
    // Synapse's `contains_url`: only events with a string `url` are looked at.
    if (typeof url !== "string") continue;
    const thumb =
      typeof info === "object" && info !== null ? (info as { thumbnail_url?: unknown }).thumbnail_url : undefined;
    for (const u of [url, thumb]) {
      if (typeof u !== "string") continue;
      const m = MXC_RE.exec(u);
      if (!m) continue;
      (m[1] === ctx.serverName ? local : remote).push(`mxc://${m[1]}/${m[2]}`);
    }
  }
  return { local, remote };
}

/** `GET /room/{roomId}/media`: unknown room 404 "Room not found", as Synapse. */
export async function listRoomMedia(ctx: MediaContext, roomId: string): Promise<{ local: string[]; remote: string[] }> {
  if (!(await ctx.stores.rooms.get(roomId))) throw new MatrixError(ErrCode.NotFound, "Room not found");
  return roomMediaMxcs(ctx, roomId);
}

/** `POST /room/{roomId}/media/quarantine`: the room's local media that is not protected. */
export async function quarantineRoomMedia(ctx: MediaContext, actor: AdminActor, roomId: string): Promise<number> {
  const { local } = await roomMediaMxcs(ctx, roomId);
  const ids = [...new Set(local.map((mxc) => mxc.slice(`mxc://${ctx.serverName}/`.length)))];
  return ctx.stores.transaction(async (t) => {
    const n = await t.mediaAdmin.setQuarantinedMany(ids, actor.userId);
    if (n > 0) await recordAudit(t, ctx, actor, "media.quarantine_room", roomId, {}, { num_quarantined: n });
    return n;
  });
}

/** `GET /media/{serverName}/{mediaId}`: the row, or 404 "Unknown media" (remote media is never cached yet). */
export async function mediaInfo(ctx: MediaContext, serverName: string, mediaId: string): Promise<MediaInfo> {
  const m = serverName === ctx.serverName ? await ctx.stores.localMedia.get(mediaId) : null;
  if (!m) throw new MatrixError(ErrCode.NotFound, "Unknown media");
  return { ...userItem(m), url_cache: null, user_id: m.userId, authenticated: m.authenticated, sha256: m.sha256 };
}
