/**
 * @module Server notices (Synapse's `ServerNoticesManager` and `SendServerNoticeServlet`): an admin's message to a
 * local user, sent by the notices user (`server_notices.system_mxid_localpart`) into a room kept for that user.
 *
 * The room is the one the user is invited to or joined, and the notices user joined; otherwise (first notice, or the
 * user left) a new one: private, `users_default: -10` so only the notices user speaks, named from the config,
 * tagged `m.server_notice` in the user's room account data (how clients show it), the user invited (or joined, with
 * `auto_join`). A reused room first follows the config: the notices user's display name and avatar, the room's
 * name, avatar and topic. Everything a notice writes (room, tag, invite, updates, the notice, the audit entry) is one
 * transaction. The notices user is an account made on first use with no password, so no one can log in as it.
 */
import { existingUser, parseUserId } from "../accounts/admin-user-ids.js";
import { recordAudit, type AdminActor } from "../accounts/audit.js";
import type { Requester } from "../accounts/auth.js";
import type { ServerNoticesConfig } from "../config/schema.js";
import { isUniqueViolation } from "../db/database.js";
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError, refuseNul } from "../errors.js";
import { TAG_TYPE } from "../sync/room-account-data.js";
import type { RoomsContext } from "./context.js";
import { createRoom, type CreateRoomRequest } from "./create-room.js";
import { memberContent } from "./membership.js";
import { serverNoticesUserId } from "./notice-room.js";
import { inRoomTransaction, type Append, type EventDraft, type TxnScope } from "./persist.js";
import { currentStateContent } from "./read.js";

export const SERVER_NOTICE_TAG = "m.server_notice";

/** The request body as the admin API reads it: `{user_id, content, type?, state_key?}`. */
interface ServerNoticeCommand {
  config: ServerNoticesConfig;
  /** The notices user. */
  sender: string;
  userId: string;
  type: string;
  stateKey?: string;
  content: Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Synapse's `assert_params_in_dict`: every missing parameter named, in its words. */
function requireParams(body: Record<string, unknown>, names: string[]): void {
  const absent = names.filter((n) => !(n in body));
  if (absent.length > 0) {
    throw new MatrixError(ErrCode.MissingParam, `Missing params: [${absent.map((n) => `'${n}'`).join(", ")}]`);
  }
}

/** Synapse's event validator on a message: `body` and `msgtype` must be strings (400 `M_UNKNOWN`, its words). */
function checkMessageContent(content: unknown): void {
  for (const key of ["body", "msgtype"]) {
    if (!isObject(content) || !(key in content)) throw new MatrixError(ErrCode.Unknown, `'${key}' not in content`);
    if (typeof content[key] !== "string") throw new MatrixError(ErrCode.Unknown, `'${key}' not a string type`);
  }
}

/**
 * Reads the body in Synapse's order: the parameters, then whether notices are on, then the user (its ID, local,
 * existing). A deactivated user (who can never read it) and the notices user itself are refused.
 */
async function parseServerNotice(ctx: RoomsContext, body: Record<string, unknown>): Promise<ServerNoticeCommand> {
  requireParams(body, ["user_id", "content"]);
  const type = body.type ?? "m.room.message";
  if (typeof type !== "string") throw new MatrixError(ErrCode.BadJson, "'type' must be a string");
  refuseNul(type, "type");
  const stateKey = body.state_key ?? undefined;
  if (stateKey !== undefined && typeof stateKey !== "string") {
    throw new MatrixError(ErrCode.BadJson, "'state_key' must be a string");
  }
  if (stateKey !== undefined) refuseNul(stateKey, "state_key");
  const config = ctx.serverNotices;
  const sender = serverNoticesUserId(ctx);
  if (config === null || sender === null) {
    throw new MatrixError(ErrCode.Unknown, "Server notices are not enabled on this server");
  }
  if (typeof body.user_id !== "string") throw new MatrixError(ErrCode.BadJson, "'user_id' must be a string");
  const { userId } = parseUserId(body.user_id);
  const user = await existingUser(ctx, userId, "Server notices can only be sent to local users");
  if (user.deactivated) {
    throw new MatrixError(ErrCode.Unknown, "Server notices cannot be sent to a deactivated user");
  }
  if (userId === sender) throw new MatrixError(ErrCode.Unknown, "Server notices cannot be sent to the notices user");
  if (type === "m.room.message") checkMessageContent(body.content);
  if (!isObject(body.content)) throw new MatrixError(ErrCode.BadJson, "'content' must be an object");
  // Membership has its own rules (invite, join), which this path keeps for itself; Synapse answers 500 here.
  if (type === "m.room.member") throw new MatrixError(ErrCode.BadJson, "A server notice cannot be a member event");
  const command: ServerNoticeCommand = { config, sender, userId, type, content: body.content };
  if (stateKey !== undefined) command.stateKey = stateKey;
  return command;
}

/** Who sent it and with which transaction ID: a retry by the same admin's session returns the same event. */
interface NoticeTxn {
  actor: AdminActor;
  txnId: string;
}

function txnScope(txn: NoticeTxn): TxnScope {
  refuseNul(txn.txnId, "txnId");
  const session = txn.actor.deviceId ?? `token:${txn.actor.tokenHash}`;
  return { deviceId: `notice:${txn.actor.userId}:${session}`, txnId: txn.txnId };
}

/**
 * Makes the notices account on first use (no password: it cannot log in; `support`: kept out of the user
 * directory), and keeps its profile what the config says. The member events follow in the rooms, per notice.
 */
async function ensureNoticesUser(ctx: RoomsContext, userId: string, config: ServerNoticesConfig): Promise<boolean> {
  const profile = { displayname: config.system_mxid_display_name, avatarUrl: config.system_mxid_avatar_url };
  const existing = await ctx.stores.users.get(userId);
  if (existing) {
    if (existing.displayname !== profile.displayname || existing.avatarUrl !== profile.avatarUrl) {
      await ctx.stores.users.setProfile(userId, profile);
    }
    return false;
  }
  try {
    await ctx.stores.transaction(async (tables) => {
      await tables.users.insert({
        userId,
        passwordHash: null,
        creationTs: Math.floor(ctx.now() / 1000),
        admin: false,
        userType: "support",
        displayname: profile.displayname,
      });
      if (profile.avatarUrl !== null) await tables.users.setProfile(userId, profile);
    });
  } catch (err) {
    // Two first notices at once: the other one made it.
    if (isUniqueViolation(err)) return false;
    throw err;
  }
  return true;
}

/** The room the user is invited to or joined that the notices user is joined to; the newest if several. */
async function existingNoticeRoom(ctx: RoomsContext, userId: string, sender: string): Promise<string | null> {
  const rooms = await ctx.stores.roomMemberships.roomsOfUser(userId, ["invite", "join"]);
  for (const r of [...rooms].reverse()) {
    if ((await ctx.stores.roomMemberships.get(r.roomId, sender))?.membership === "join") return r.roomId;
  }
  return null;
}

/**
 * What a reused room needs to match the config, as Synapse checks it: the notices user's member event (display name
 * and avatar), then the room's name, avatar and topic (unset and empty count as the same).
 */
async function roomUpdates(
  ctx: RoomsContext,
  roomId: string,
  sender: string,
  config: ServerNoticesConfig,
): Promise<Omit<EventDraft, "roomId" | "sender">[]> {
  const drafts: Omit<EventDraft, "roomId" | "sender">[] = [];
  const member = await currentStateContent(ctx, roomId, "m.room.member", sender);
  if (
    (member?.displayname ?? null) !== config.system_mxid_display_name ||
    (member?.avatar_url ?? null) !== config.system_mxid_avatar_url
  ) {
    drafts.push({ type: "m.room.member", stateKey: sender, content: await memberContent(ctx, sender, "join") });
  }
  const infos: [string, string, string | null][] = [
    ["m.room.name", "name", config.room_name],
    ["m.room.avatar", "url", config.room_avatar_url],
    ["m.room.topic", "topic", config.room_topic],
  ];
  for (const [type, key, wanted] of infos) {
    const current = (await currentStateContent(ctx, roomId, type, ""))?.[key];
    if (current === wanted || (!current && !wanted)) continue;
    drafts.push({ type, stateKey: "", content: { [key]: wanted ?? "" } });
  }
  return drafts;
}

function newRoomRequest(config: ServerNoticesConfig): CreateRoomRequest {
  const req: CreateRoomRequest = { preset: "private_chat", power_level_content_override: { users_default: -10 } };
  if (config.room_name) req.name = config.room_name;
  if (config.room_topic) req.topic = config.room_topic;
  if (config.room_avatar_url) {
    req.initial_state = [{ type: "m.room.avatar", state_key: "", content: { url: config.room_avatar_url } }];
  }
  return req;
}

/**
 * `POST|PUT /_synapse/admin/v1/send_server_notice[/{txnId}]`: `{event_id}`. A transaction ID this admin session
 * used before answers with that notice's event before the body is read, as Synapse's transaction cache does.
 */
export async function sendServerNotice(
  ctx: RoomsContext,
  actor: AdminActor,
  body: Record<string, unknown>,
  txnId?: string,
): Promise<{ event_id: string }> {
  const txn = txnId === undefined ? undefined : txnScope({ actor, txnId });
  const retried = serverNoticesUserId(ctx);
  if (txn && retried !== null) {
    const seen = await ctx.stores.eventTxns.get(retried, txn.deviceId, "send", txn.txnId);
    if (seen !== null) return { event_id: seen };
  }
  const command = await parseServerNotice(ctx, body);
  return oneAtATime(ctx, command.userId, () => deliver(ctx, actor, command, txn));
}

/** Notices to a user being sent now, per server: one at a time, so two first notices make one room, not two. */
const sending = new WeakMap<RoomsContext["stores"], Map<string, Promise<unknown>>>();

async function oneAtATime<T>(ctx: RoomsContext, userId: string, work: () => Promise<T>): Promise<T> {
  let queue = sending.get(ctx.stores);
  if (!queue) sending.set(ctx.stores, (queue = new Map<string, Promise<unknown>>()));
  const before = queue.get(userId) ?? Promise.resolve();
  const mine = before.then(work);
  const settled = mine.catch(() => undefined);
  queue.set(userId, settled);
  try {
    return await mine;
  } finally {
    if (queue.get(userId) === settled) queue.delete(userId);
  }
}

/** Thrown inside a notice's transaction when its `claim` says it was sent meanwhile: nothing is written. */
class NoticeNotClaimed extends Error {}

/**
 * A notice the server sends by itself (the consent notice, src/rooms/consent.ts): no admin asked, so no audit
 * entry. `claim` runs in the notice's transaction before anything is appended; false (sent meanwhile, perhaps by
 * another process) sends nothing. Returns whether it was sent.
 */
export async function sendSystemNotice(
  ctx: RoomsContext,
  userId: string,
  content: Record<string, unknown>,
  claim: (tables: Tables) => Promise<boolean>,
): Promise<boolean> {
  const config = ctx.serverNotices;
  const sender = serverNoticesUserId(ctx);
  if (config === null || sender === null) return false;
  const command: ServerNoticeCommand = { config, sender, userId, type: "m.room.message", content };
  try {
    await oneAtATime(ctx, userId, () => deliver(ctx, null, command, undefined, claim));
    return true;
  } catch (err) {
    if (err instanceof NoticeNotClaimed) return false;
    throw err;
  }
}

async function deliver(
  ctx: RoomsContext,
  actor: AdminActor | null,
  command: ServerNoticeCommand,
  txn: TxnScope | undefined,
  claim?: (tables: Tables) => Promise<boolean>,
): Promise<{ event_id: string }> {
  const { config, sender } = command;
  if (txn) {
    // Again, now that this user's earlier notices are done: one of them may have been this one.
    const seen = await ctx.stores.eventTxns.get(sender, txn.deviceId, "send", txn.txnId);
    if (seen !== null) return { event_id: seen };
  }
  const createdUser = await ensureNoticesUser(ctx, sender, config);
  const userId = command.userId;
  const notice: EventDraft = { roomId: "", type: command.type, sender, content: command.content };
  if (command.stateKey !== undefined) notice.stateKey = command.stateKey;

  const finish = async (append: Append, tables: Tables, roomId: string, newRoom: boolean): Promise<string> => {
    const event = await append({ ...notice, roomId }, txn);
    if (actor === null) return event.eventId;
    const after: Record<string, unknown> = { room_id: roomId, event_id: event.eventId, type: command.type };
    if (command.stateKey !== undefined) after.state_key = command.stateKey;
    if (newRoom) after.new_room = true;
    if (createdUser) after.notices_user_created = sender;
    await recordAudit(tables, ctx, actor, "server_notice.send", userId, {}, after);
    return event.eventId;
  };

  try {
    const roomId = await existingNoticeRoom(ctx, userId, sender);
    if (roomId !== null) {
      const updates = await roomUpdates(ctx, roomId, sender, config);
      const eventId = await inRoomTransaction(ctx, async (append, tables) => {
        if (claim && !(await claim(tables))) throw new NoticeNotClaimed();
        for (const d of updates) await append({ ...d, roomId, sender });
        return finish(append, tables, roomId, false);
      });
      return { event_id: eventId };
    }
    const join = config.auto_join ? await memberContent(ctx, userId, "join") : null;
    const requester: Requester = {
      userId: sender,
      deviceId: null,
      isGuest: false,
      admin: false,
      tokenHash: "",
      impersonator: null,
    };
    let eventId = "";
    await createRoom(ctx, requester, newRoomRequest(config), async (append, tables, writer, newRoomId) => {
      if (claim && !(await claim(tables))) throw new NoticeNotClaimed();
      await tables.roomAccountData.put(
        userId,
        newRoomId,
        TAG_TYPE,
        { tags: { [SERVER_NOTICE_TAG]: {} } },
        await writer.next(),
      );
      writer.wake(userId);
      const invite = { roomId: newRoomId, type: "m.room.member", stateKey: userId, sender };
      await append({ ...invite, content: { membership: "invite" } });
      if (join !== null) await append({ ...invite, sender: userId, content: join });
      eventId = await finish(append, tables, newRoomId, true);
    });
    return { event_id: eventId };
  } catch (err) {
    // A concurrent retry with the same transaction ID won: its event is the answer, as for a client's send.
    if (txn) {
      const seen = await ctx.stores.eventTxns.get(sender, txn.deviceId, "send", txn.txnId);
      if (seen !== null) return { event_id: seen };
    }
    throw err;
  }
}
