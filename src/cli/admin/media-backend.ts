/**
 * @module The media half of `AdminBackend`: one method per media admin API call, answering exactly its JSON, over
 * HTTP and on the database. On the database the files are those of the `-c` config's `media_store_path`: without
 * it the commands are refused: a delete would remove rows and leave their files behind.
 */
import type { AdminActor } from "../../accounts/audit.js";
import { existingUser } from "../../accounts/admin-user-ids.js";
import { oldMediaParams, userMediaPage } from "../../api/admin/media.js";
import {
  deleteMediaIds,
  deleteOldMedia,
  deleteOneMedia,
  listUserMedia,
  mediaInfo,
  setMediaProtected,
  setMediaQuarantine,
  type DeletedMedia,
  type MediaInfo,
  type UserMediaList,
} from "../../media/admin.js";
import type { MediaContext } from "../../media/context.js";
import { CliError, EXIT_USAGE } from "../errors.js";
import { queryString } from "./http-room-backend.js";
import type { AdminQuery } from "./room-backend.js";

const ADMIN = "/_synapse/admin";
const enc = (s: string) => encodeURIComponent(s);

type Call = <T>(method: string, path: string, body?: unknown) => Promise<T>;
type Empty = Record<string, never>;

export interface MediaAdminBackend {
  listUserMedia(userId: string, params: AdminQuery): Promise<UserMediaList>;
  deleteUserMedia(userId: string, params: AdminQuery): Promise<DeletedMedia>;
  mediaInfo(serverName: string, mediaId: string): Promise<{ media_info: MediaInfo }>;
  deleteMedia(serverName: string, mediaId: string): Promise<DeletedMedia>;
  /** `POST /media/delete` with `before_ts`, `size_gt`, `keep_profiles`. */
  deleteOldMedia(params: AdminQuery): Promise<DeletedMedia>;
  setQuarantined(serverName: string, mediaId: string, quarantine: boolean): Promise<Empty>;
  setProtected(mediaId: string, safe: boolean): Promise<Empty>;
}

export function httpMediaMethods(call: Call): MediaAdminBackend {
  const userMedia = (userId: string, params: AdminQuery) =>
    `${ADMIN}/v1/users/${enc(userId)}/media${queryString(params)}`;
  return {
    listUserMedia: (userId, params) => call("GET", userMedia(userId, params)),
    deleteUserMedia: (userId, params) => call("DELETE", userMedia(userId, params)),
    mediaInfo: (server, id) => call("GET", `${ADMIN}/v1/media/${enc(server)}/${enc(id)}`),
    deleteMedia: (server, id) => call("DELETE", `${ADMIN}/v1/media/${enc(server)}/${enc(id)}`),
    deleteOldMedia: (params) => call("POST", `${ADMIN}/v1/media/delete${queryString(params)}`, {}),
    setQuarantined: (server, id, quarantine) =>
      call("POST", `${ADMIN}/v1/media/${quarantine ? "quarantine" : "unquarantine"}/${enc(server)}/${enc(id)}`, {}),
    setProtected: (id, safe) => call("POST", `${ADMIN}/v1/media/${safe ? "protect" : "unprotect"}/${enc(id)}`, {}),
  };
}

/** `media` null: the config names no `media_store_path` (or there is no `-c`). */
export function databaseMediaMethods(
  media: MediaContext | null,
  actor: AdminActor,
  run: <T>(work: () => Promise<T>) => Promise<T>,
): MediaAdminBackend {
  const ctx = (): MediaContext => {
    if (media === null) {
      throw new CliError(
        "error: the media commands on the database need -c with a config naming media_store_path",
        EXIT_USAGE,
      );
    }
    return media;
  };
  const user = async (userId: string) =>
    (await existingUser(ctx(), userId, "Can only look up local users", "Unknown user")).userId;
  return {
    listUserMedia: (userId, params) => run(async () => listUserMedia(ctx(), await user(userId), userMediaPage(params))),
    deleteUserMedia: (userId, params) =>
      run(async () => {
        const c = ctx();
        const page = await listUserMedia(c, await user(userId), userMediaPage(params));
        return deleteMediaIds(
          c,
          actor,
          page.media.map((m) => m.media_id),
        );
      }),
    mediaInfo: (server, id) => run(async () => ({ media_info: await mediaInfo(ctx(), server, id) })),
    deleteMedia: (server, id) => run(() => deleteOneMedia(ctx(), actor, server, id)),
    deleteOldMedia: (params) => run(() => deleteOldMedia(ctx(), actor, oldMediaParams(params))),
    setQuarantined: (server, id, quarantine) =>
      run(async () => {
        await setMediaQuarantine(ctx(), actor, server, id, quarantine);
        return {};
      }),
    setProtected: (id, safe) =>
      run(async () => {
        await setMediaProtected(ctx(), actor, id, safe);
        return {};
      }),
  };
}
