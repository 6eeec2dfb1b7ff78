/**
 * @module Pushers (spec "Push Notifications": `POST /pushers/set`, `GET /pushers`): where a user's devices want
 * notifications pushed, validated and stored as Synapse does. Nothing is sent to push gateways yet.
 */
import type { AccountsContext } from "../accounts/context.js";
import type { Pusher } from "../db/pushers.js";
import { ErrCode, MatrixError, refuseNul } from "../errors.js";
import { canonicalEmail } from "../shared/email.js";

/** The spec's limits: `app_id` up to 64 characters, `pushkey` up to 512 bytes. */
export const MAX_APP_ID_CHARS = 64;
export const MAX_PUSHKEY_BYTES = 512;

/** The path every push gateway serves (spec "Push Gateway API"); Synapse refuses an HTTP pusher without it. */
const NOTIFY_PATH = "/_matrix/push/v1/notify";

const REQUIRED = ["kind", "app_id", "app_display_name", "device_display_name", "pushkey", "lang", "data"] as const;

/** A pusher as `GET /pushers` and the admin API show it (Synapse's `as_dict`, less `enabled`/`device_id`). */
export interface PusherJson {
  app_display_name: string;
  app_id: string;
  data: Record<string, unknown>;
  device_display_name: string;
  kind: string;
  lang: string;
  profile_tag: string;
  pushkey: string;
}

export function pusherJson(p: Pusher): PusherJson {
  return {
    app_display_name: p.appDisplayName,
    app_id: p.appId,
    data: p.data,
    device_display_name: p.deviceDisplayName,
    kind: p.kind,
    lang: p.lang,
    profile_tag: p.profileTag ?? "",
    pushkey: p.pushkey,
  };
}

export async function pushersOf(ctx: AccountsContext, userId: string): Promise<PusherJson[]> {
  return (await ctx.stores.pushers.forUser(userId)).map(pusherJson);
}

const configError = (message: string) => new MatrixError(ErrCode.MissingParam, `Config Error: ${message}`);
const invalidParam = (message: string) => new MatrixError(ErrCode.InvalidParam, message);

/**
 * `POST /pushers/set`: `kind: null` deletes the user's pusher of (app_id, pushkey); otherwise every field is
 * required, an HTTP pusher needs `data.url` with the push gateway's path, an email pusher an address bound to the
 * account. Without `append`, the same (app_id, pushkey) of other users is removed (a device changed hands).
 */
export async function setPusher(
  ctx: AccountsContext,
  userId: string,
  deviceId: string | null,
  body: Record<string, unknown>,
): Promise<void> {
  if ("pushkey" in body && "app_id" in body && body.kind === null) {
    if (typeof body.app_id === "string" && typeof body.pushkey === "string") {
      refuseNul(body.app_id, "app_id");
      refuseNul(body.pushkey, "pushkey");
      await ctx.stores.pushers.delete(userId, body.app_id, body.pushkey);
    }
    return;
  }
  const missing = REQUIRED.filter((k) => !(k in body));
  if (missing.length > 0) {
    throw new MatrixError(ErrCode.MissingParam, `Missing params: ${JSON.stringify(missing)}`);
  }
  for (const k of ["kind", "app_id", "app_display_name", "device_display_name", "pushkey", "lang"] as const) {
    const v = body[k];
    if (typeof v !== "string") throw invalidParam(`'${k}' must be a string`);
    refuseNul(v, k);
  }
  const { kind, app_id: appId, pushkey } = body as Record<(typeof REQUIRED)[number], string>;
  const data = body.data;
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw invalidParam("'data' must be an object");
  if (body.profile_tag !== undefined && typeof body.profile_tag !== "string") {
    throw invalidParam("'profile_tag' must be a string");
  }
  if (typeof body.profile_tag === "string") refuseNul(body.profile_tag, "profile_tag");
  if (body.append !== undefined && typeof body.append !== "boolean") throw invalidParam("'append' must be a boolean");
  if ([...appId].length > MAX_APP_ID_CHARS)
    throw invalidParam(`'app_id' must be at most ${MAX_APP_ID_CHARS} characters`);
  if (Buffer.byteLength(pushkey) > MAX_PUSHKEY_BYTES) {
    throw invalidParam(`'pushkey' must be at most ${MAX_PUSHKEY_BYTES} bytes`);
  }
  if (kind === "http") {
    const url = (data as Record<string, unknown>).url;
    if (url === undefined) throw configError("'url' required in data for HTTP pusher");
    if (typeof url !== "string") throw configError("'url' must be a string");
    let path: string | null;
    try {
      path = new URL(url).pathname;
    } catch {
      path = null;
    }
    if (path !== NOTIFY_PATH) throw configError(`'url' must have a path of '${NOTIFY_PATH}'`);
  } else if (kind === "email") {
    const address = canonicalEmail(pushkey);
    const owner = address === null ? undefined : (await ctx.stores.threepids.owners("email", [address])).get(address);
    if (owner !== userId) throw new MatrixError(ErrCode.ThreepidNotFound, "Email not found");
  } else {
    throw invalidParam(`Unknown pusher kind '${kind}': must be 'http' or 'email'`);
  }
  await ctx.stores.transaction(async (tables) => {
    if (body.append !== true) await tables.pushers.deleteOfOthers(userId, appId, pushkey);
    await tables.pushers.put({
      userId,
      appId,
      pushkey,
      kind,
      appDisplayName: body.app_display_name as string,
      deviceDisplayName: body.device_display_name as string,
      profileTag: typeof body.profile_tag === "string" ? body.profile_tag : "",
      lang: body.lang as string,
      data: data as Record<string, unknown>,
      deviceId,
      createdTs: ctx.now(),
    });
  });
}
