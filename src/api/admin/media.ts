/**
 * @module Synapse's media admin API (`synapse/rest/admin/media.py`), with its paths, parameters, answers and
 * words. Every route is for admins only; writes are audited (src/media/admin.ts).
 */
import type { FastifyRequest } from "fastify";
import { existingUser } from "../../accounts/admin-user-ids.js";
import { MEDIA_ORDER_COLUMNS, type MediaOrderColumn } from "../../db/media-order-columns.js";
import { ErrCode, MatrixError } from "../../errors.js";
import { requireAdmin, requireAdminActor } from "../../http/auth.js";
import { ADMIN } from "../../http/paths.js";
import { adminPagingParams, booleanParam, enumParam, integerParam, queryOf, type Query } from "../../http/query.js";
import type { RouteModule } from "../../http/server.js";
import {
  deleteMediaIds,
  deleteOldMedia,
  deleteOneMedia,
  listRoomMedia,
  listUserMedia,
  mediaInfo,
  quarantineRoomMedia,
  quarantineUserMedia,
  setMediaProtected,
  setMediaQuarantine,
} from "../../media/admin.js";

/**
 * The page of `GET`/`DELETE /users/{userId}/media`. Neither `order_by` nor `dir` given: newest first (Synapse's
 * backward-compatible default); otherwise `order_by` defaults to `created_ts` and `dir` to `f`. Exported for the
 * admin CLI's database mode.
 */
export function userMediaPage(query: Query): {
  from: number;
  limit: number;
  orderBy: MediaOrderColumn;
  dir: "f" | "b";
} {
  const { from, limit } = adminPagingParams(query);
  if (query.order_by === undefined && query.dir === undefined) return { from, limit, orderBy: "created_ts", dir: "b" };
  const orderBy = enumParam(query, "order_by", MEDIA_ORDER_COLUMNS, "created_ts");
  const dir = enumParam(query, "dir", ["f", "b"] as const, "f");
  return { from, limit, orderBy, dir };
}

/** `before_ts` (required, milliseconds) as Synapse checks it. Exported for the admin CLI's database mode. */
export function beforeTsParam(query: Query): number {
  const beforeTs = integerParam(query, "before_ts", null);
  if (beforeTs === null) throw new MatrixError(ErrCode.MissingParam, "Missing integer query parameter 'before_ts'");
  if (beforeTs < 0) {
    throw new MatrixError(ErrCode.InvalidParam, "Query parameter before_ts must be a positive integer.");
  }
  // Dec 1970 in milliseconds, Aug 2920 in seconds: a timestamp in seconds is a mistake.
  if (beforeTs < 30_000_000_000) {
    throw new MatrixError(
      ErrCode.InvalidParam,
      "Query parameter before_ts you provided is from the year 1970. " +
        "Double check that you are providing a timestamp in milliseconds.",
    );
  }
  return beforeTs;
}

/** The parameters of `POST /media/delete`. Exported for the admin CLI's database mode. */
export function oldMediaParams(query: Query): { beforeTs: number; sizeGt: number; keepProfiles: boolean } {
  const beforeTs = beforeTsParam(query);
  const sizeGt = integerParam(query, "size_gt", 0);
  if (sizeGt < 0) {
    throw new MatrixError(
      ErrCode.InvalidParam,
      "Query parameter size_gt must be a string representing a positive integer.",
    );
  }
  return { beforeTs, sizeGt, keepProfiles: booleanParam(query, "keep_profiles", true) };
}

export const adminMediaRoutes: RouteModule = (app, { accounts, media }) => {
  type UserParams = { Params: { userId: string } };
  type MediaParams = { Params: { serverName: string; mediaId: string } };

  /**
   * # `GET /_synapse/admin/v1/users/{userId}/media`
   * - The user's media: `from`, `limit`, `order_by` (Synapse's columns), `dir`. `{media, total, next_token?}`.
   * - Remote user: 400 "Can only look up local users"; unknown: 404 "Unknown user".
   */
  app.get<UserParams>(`${ADMIN}/v1/users/:userId/media`, async (request) => {
    await requireAdmin(request, accounts);
    const user = await existingUser(accounts, request.params.userId, "Can only look up local users", "Unknown user");
    return listUserMedia(media, user.userId, userMediaPage(queryOf(request)));
  });

  /**
   * # `DELETE /_synapse/admin/v1/users/{userId}/media`
   * - Deletes the page of the user's media that the same query lists. `{deleted_media, total}`.
   */
  app.delete<UserParams>(`${ADMIN}/v1/users/:userId/media`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    const user = await existingUser(accounts, request.params.userId, "Can only look up local users", "Unknown user");
    const page = await listUserMedia(media, user.userId, userMediaPage(queryOf(request)));
    return deleteMediaIds(
      media,
      actor,
      page.media.map((m) => m.media_id),
    );
  });

  /**
   * # `GET /_synapse/admin/v1/media/{serverName}/{mediaId}`
   * - `{media_info}`: the media's row with Synapse's field names; unknown: 404 "Unknown media".
   */
  app.get<MediaParams>(`${ADMIN}/v1/media/:serverName/:mediaId`, async (request) => {
    await requireAdmin(request, accounts);
    return { media_info: await mediaInfo(media, request.params.serverName, request.params.mediaId) };
  });

  /**
   * # `DELETE /_synapse/admin/v1/media/{serverName}/{mediaId}`
   * - Another server: 400 "Can only delete local media"; unknown: 404 "Unknown media". `{deleted_media, total}`.
   */
  app.delete<MediaParams>(`${ADMIN}/v1/media/:serverName/:mediaId`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    return deleteOneMedia(media, actor, request.params.serverName, request.params.mediaId);
  });

  /**
   * # `POST /_synapse/admin/v1/media/delete`
   * # `POST /_synapse/admin/v1/media/{serverName}/delete`
   * - `before_ts` (ms, required), `size_gt` (default 0), `keep_profiles` (default true: avatars stay).
   *   Quarantined and protected media stay, as in Synapse. Another server: 400 "Can only delete local media".
   */
  const deleteOld = async (request: FastifyRequest, serverName: string | null) => {
    const actor = await requireAdminActor(request, accounts);
    const params = oldMediaParams(queryOf(request));
    if (serverName !== null && serverName !== media.serverName) {
      throw new MatrixError(ErrCode.Unknown, "Can only delete local media");
    }
    return deleteOldMedia(media, actor, params);
  };
  app.post(`${ADMIN}/v1/media/delete`, (request) => deleteOld(request, null));
  app.post<{ Params: { serverName: string } }>(`${ADMIN}/v1/media/:serverName/delete`, (request) =>
    deleteOld(request, request.params.serverName),
  );

  /**
   * # `POST /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}`
   * # `POST /_synapse/admin/v1/media/unquarantine/{serverName}/{mediaId}`
   * - `{}` whether or not the media exists (as Synapse); protected media is never quarantined.
   */
  for (const [verb, quarantine] of [
    ["quarantine", true],
    ["unquarantine", false],
  ] as const) {
    app.post<MediaParams>(`${ADMIN}/v1/media/${verb}/:serverName/:mediaId`, async (request) => {
      const actor = await requireAdminActor(request, accounts);
      await setMediaQuarantine(media, actor, request.params.serverName, request.params.mediaId, quarantine);
      return {};
    });
  }

  /**
   * # `POST /_synapse/admin/v1/media/protect/{mediaId}`
   * # `POST /_synapse/admin/v1/media/unprotect/{mediaId}`
   * - Protected media is never quarantined (nor deleted by age). `{}` whether or not the media exists.
   */
  for (const [verb, safe] of [
    ["protect", true],
    ["unprotect", false],
  ] as const) {
    app.post<{ Params: { mediaId: string } }>(`${ADMIN}/v1/media/${verb}/:mediaId`, async (request) => {
      const actor = await requireAdminActor(request, accounts);
      await setMediaProtected(media, actor, request.params.mediaId, safe);
      return {};
    });
  }

  /**
   * # `POST /_synapse/admin/v1/room/{roomId}/media/quarantine`
   * # `POST /_synapse/admin/v1/quarantine_media/{roomId}`
   * - Quarantines the local media the room's events name. `{num_quarantined}`.
   */
  for (const path of [`${ADMIN}/v1/room/:roomId/media/quarantine`, `${ADMIN}/v1/quarantine_media/:roomId`]) {
    app.post<{ Params: { roomId: string } }>(path, async (request) => {
      const actor = await requireAdminActor(request, accounts);
      return { num_quarantined: await quarantineRoomMedia(media, actor, request.params.roomId) };
    });
  }

  /**
   * # `POST /_synapse/admin/v1/user/{userId}/media/quarantine`
   * - Quarantines every unprotected media item the user uploaded. `{num_quarantined}`.
   */
  app.post<UserParams>(`${ADMIN}/v1/user/:userId/media/quarantine`, async (request) => {
    const actor = await requireAdminActor(request, accounts);
    return { num_quarantined: await quarantineUserMedia(media, actor, request.params.userId) };
  });

  /**
   * # `GET /_synapse/admin/v1/room/{roomId}/media`
   * - `{local, remote}`: the mxc URIs the room's events name; unknown room: 404 "Room not found".
   */
  app.get<{ Params: { roomId: string } }>(`${ADMIN}/v1/room/:roomId/media`, async (request) => {
    await requireAdmin(request, accounts);
    return listRoomMedia(media, request.params.roomId);
  });

  /**
   * # `POST /_synapse/admin/v1/purge_media_cache`
   * - `before_ts` as for `media/delete`. Gatehouse caches no remote media yet: `{"deleted": 0}`.
   */
  app.post(`${ADMIN}/v1/purge_media_cache`, async (request) => {
    await requireAdminActor(request, accounts);
    beforeTsParam(queryOf(request));
    return { deleted: 0 };
  });
};
