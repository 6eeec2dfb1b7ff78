/**
 * @module `POST /createRoom` (spec "Creation"; Synapse's `RoomCreationHandler.create_room`): a new room and its
 * first events, all in one transaction, so a refused `initial_state` entry or a taken alias leaves no room behind.
 *
 * Events, in Synapse's order: `m.room.create`; the creator's join; `m.room.power_levels` (Synapse's defaults,
 * `power_level_content_override` shallow-merged on top, or an `initial_state` entry instead); `m.room.canonical_alias`
 * when an alias was asked for; the preset's `m.room.join_rules`, `m.room.history_visibility` and
 * `m.room.guest_access` unless `initial_state` sets them; each `initial_state` entry; `m.room.name`;
 * `m.room.topic`; then an invite per `invite` entry (with `is_direct` when asked).
 */
import type { Requester } from "../accounts/auth.js";
import { ErrCode, MatrixError, refuseNul } from "../errors.js";
import { isValidUserId, newRoomId, parseRoomAlias } from "../matrix/ids.js";
import { CREATABLE_ROOM_VERSIONS, roomVersion } from "../matrix/room-versions.js";
import type { RoomsContext } from "./context.js";
import { memberContent } from "./membership.js";
import type { Tables } from "../db/stores.js";
import type { StreamWriter } from "../sync/stream.js";
import { inRoomTransaction, type Append, type EventDraft } from "./persist.js";
import { assertAliasCreationAllowed, publishingAllowed } from "./publication.js";

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3createroom */
export interface CreateRoomRequest {
  visibility?: "public" | "private";
  room_alias_name?: string;
  name?: string;
  topic?: string;
  invite?: string[];
  room_version?: string;
  creation_content?: Record<string, unknown>;
  initial_state?: { type: string; state_key?: string; content: Record<string, unknown> }[];
  preset?: Preset;
  is_direct?: boolean;
  power_level_content_override?: Record<string, unknown>;
}

type Preset = "private_chat" | "public_chat" | "trusted_private_chat";

const PRESETS: Record<Preset, { joinRule: string; history: string; guestCanJoin: boolean; invitesAdmin: boolean }> = {
  private_chat: { joinRule: "invite", history: "shared", guestCanJoin: true, invitesAdmin: false },
  trusted_private_chat: { joinRule: "invite", history: "shared", guestCanJoin: true, invitesAdmin: true },
  public_chat: { joinRule: "public", history: "shared", guestCanJoin: false, invitesAdmin: false },
};

/** Synapse's power levels for a new room. */
function defaultPowerLevels(creator: string, admins: string[]): Record<string, unknown> {
  return {
    users: Object.fromEntries([creator, ...admins].map((u) => [u, 100])),
    users_default: 0,
    events: {
      "m.room.name": 50,
      "m.room.power_levels": 100,
      "m.room.history_visibility": 100,
      "m.room.canonical_alias": 50,
      "m.room.avatar": 50,
      "m.room.tombstone": 100,
      "m.room.server_acl": 100,
      "m.room.encryption": 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: 50,
    historical: 100,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new MatrixError(ErrCode.BadJson, `'${key}' must be a string`);
  refuseNul(v, key);
  return v;
}

/** Reads and checks the request body; every malformed field is 400 before anything is written. */
export function parseCreateRoom(body: Record<string, unknown>): CreateRoomRequest {
  const req: CreateRoomRequest = {};
  const visibility = optionalString(body, "visibility");
  if (visibility !== undefined && visibility !== "public" && visibility !== "private") {
    throw new MatrixError(ErrCode.BadJson, "'visibility' must be 'public' or 'private'");
  }
  req.visibility = visibility;
  req.room_alias_name = optionalString(body, "room_alias_name");
  req.name = optionalString(body, "name");
  req.topic = optionalString(body, "topic");
  req.room_version = optionalString(body, "room_version");
  const preset = optionalString(body, "preset");
  if (preset !== undefined && !(preset in PRESETS)) {
    throw new MatrixError(ErrCode.BadJson, `'preset' must be one of ${Object.keys(PRESETS).join(", ")}`);
  }
  req.preset = preset as Preset | undefined;
  if (body.invite !== undefined) {
    if (!Array.isArray(body.invite) || !body.invite.every((u) => typeof u === "string")) {
      throw new MatrixError(ErrCode.BadJson, "'invite' must be a list of user IDs");
    }
    for (const u of body.invite) {
      if (!isValidUserId(u)) throw new MatrixError(ErrCode.InvalidParam, `Invalid user_id: ${u}`);
    }
    req.invite = body.invite;
  }
  if (Array.isArray(body.invite_3pid) && body.invite_3pid.length > 0) {
    throw new MatrixError(ErrCode.InvalidParam, "Inviting by third-party identifier is not supported");
  }
  for (const key of ["creation_content", "power_level_content_override"] as const) {
    const v = body[key];
    if (v === undefined) continue;
    if (!isObject(v)) throw new MatrixError(ErrCode.BadJson, `'${key}' must be an object`);
    req[key] = v;
  }
  if (body.initial_state !== undefined) {
    if (!Array.isArray(body.initial_state)) throw new MatrixError(ErrCode.BadJson, "'initial_state' must be a list");
    req.initial_state = body.initial_state.map((e: unknown) => {
      if (!isObject(e) || typeof e.type !== "string" || !isObject(e.content)) {
        throw new MatrixError(ErrCode.BadJson, "Each 'initial_state' entry needs a 'type' and a 'content' object");
      }
      if (e.state_key !== undefined && typeof e.state_key !== "string") {
        throw new MatrixError(ErrCode.BadJson, "'state_key' in 'initial_state' must be a string");
      }
      return { type: e.type, state_key: e.state_key ?? "", content: e.content };
    });
  }
  if (body.is_direct !== undefined) {
    if (typeof body.is_direct !== "boolean") throw new MatrixError(ErrCode.BadJson, "'is_direct' must be a boolean");
    req.is_direct = body.is_direct;
  }
  return req;
}

export async function createRoom(
  ctx: RoomsContext,
  requester: Requester,
  req: CreateRoomRequest,
  /** More that lands with the room or not at all (a server notice's tag, invite and message). */
  alsoInTransaction?: (append: Append, tables: Tables, writer: StreamWriter, roomId: string) => Promise<void>,
): Promise<{ room_id: string; room_alias?: string }> {
  if (requester.isGuest) throw new MatrixError(ErrCode.GuestAccessForbidden, "Guests cannot create rooms");
  const versionId = req.room_version ?? ctx.defaultRoomVersion;
  const v = roomVersion(versionId);
  if (!v || !CREATABLE_ROOM_VERSIONS.includes(versionId)) {
    throw new MatrixError(ErrCode.UnsupportedRoomVersion, "Your homeserver does not support this room version");
  }
  let alias: string | undefined;
  if (req.room_alias_name !== undefined) {
    alias = `#${req.room_alias_name}:${ctx.serverName}`;
    if (!parseRoomAlias(alias) || alias.length > 255) {
      throw new MatrixError(ErrCode.InvalidParam, "Invalid characters in room alias");
    }
  }
  const creator = requester.userId;
  const preset = PRESETS[req.preset ?? (req.visibility === "public" ? "public_chat" : "private_chat")];
  const invites = (req.invite ?? []).filter((u) => u !== creator);
  const initial = req.initial_state ?? [];
  const setsInitially = (type: string) => initial.some((e) => e.type === type && (e.state_key ?? "") === "");
  const roomId = newRoomId(ctx.serverName, ctx.randomBytes);
  if (alias !== undefined) assertAliasCreationAllowed(ctx, creator, roomId, alias);

  const creation: Record<string, unknown> = { ...(req.creation_content ?? {}), room_version: versionId };
  if (!v.v11Redactions) creation.creator = creator;
  else delete creation.creator;

  const powerLevels = {
    ...defaultPowerLevels(creator, preset.invitesAdmin ? invites : []),
    ...(req.power_level_content_override ?? {}),
  };

  const drafts: Omit<EventDraft, "roomId" | "sender">[] = [];
  drafts.push({ type: "m.room.create", stateKey: "", content: creation });
  drafts.push({ type: "m.room.member", stateKey: creator, content: await memberContent(ctx, creator, "join") });
  if (!setsInitially("m.room.power_levels")) {
    drafts.push({ type: "m.room.power_levels", stateKey: "", content: powerLevels });
  }
  if (alias !== undefined) drafts.push({ type: "m.room.canonical_alias", stateKey: "", content: { alias } });
  if (!setsInitially("m.room.join_rules")) {
    drafts.push({ type: "m.room.join_rules", stateKey: "", content: { join_rule: preset.joinRule } });
  }
  if (!setsInitially("m.room.history_visibility")) {
    drafts.push({
      type: "m.room.history_visibility",
      stateKey: "",
      content: { history_visibility: preset.history },
    });
  }
  if (preset.guestCanJoin && !setsInitially("m.room.guest_access")) {
    drafts.push({ type: "m.room.guest_access", stateKey: "", content: { guest_access: "can_join" } });
  }
  for (const e of initial) {
    if (e.type === "m.room.create") {
      throw new MatrixError(ErrCode.InvalidRoomState, "Cannot set m.room.create in initial_state");
    }
    drafts.push({ type: e.type, stateKey: e.state_key ?? "", content: e.content });
  }
  if (req.name !== undefined) drafts.push({ type: "m.room.name", stateKey: "", content: { name: req.name } });
  if (req.topic !== undefined) drafts.push({ type: "m.room.topic", stateKey: "", content: { topic: req.topic } });
  for (const invitee of invites) {
    const content: Record<string, unknown> = { membership: "invite" };
    if (req.is_direct) content.is_direct = true;
    drafts.push({ type: "m.room.member", stateKey: invitee, content });
  }

  await inRoomTransaction(ctx, async (append, tables, writer) => {
    await tables.rooms.insert({
      roomId,
      roomVersion: versionId,
      creator,
      createdTs: ctx.now(),
      // A room the publication rules keep out of the directory is still created, unlisted, as Synapse does (its PR 16811).
      isPublic:
        req.visibility === "public" &&
        publishingAllowed(ctx.directory.publicationRules, creator, roomId, alias !== undefined ? [alias] : []),
    });
    if (alias !== undefined && !(await tables.roomAliases.insert({ alias, roomId, creator }, ctx.now()))) {
      throw new MatrixError(ErrCode.RoomInUse, "Room alias already taken");
    }
    for (const d of drafts) await append({ ...d, roomId, sender: creator });
    await alsoInTransaction?.(append, tables, writer, roomId);
  });
  return alias !== undefined ? { room_id: roomId, room_alias: alias } : { room_id: roomId };
}
