/**
 * Gatehouse's room services in the benchmark's own process, on a database a `gatehouse serve` then opens: users,
 * rooms and events are made here, through the services and stores, because making them over HTTP would take
 * longer than measuring what they are for.
 */
import { randomBytes } from "node:crypto";
import { createAccountsContext } from "../src/accounts/context.js";
import { RateLimiter } from "../src/accounts/ratelimit.js";
import type { Requester } from "../src/accounts/auth.js";
import { registerUser } from "../src/accounts/registration.js";
import { hashToken } from "../src/accounts/tokens.js";
import type { Config } from "../src/config/schema.js";
import { validateConfig } from "../src/config/validate.js";
import type { Db } from "../src/db/database.js";
import { rateLimitBucketsStore } from "../src/db/ratelimit-buckets.js";
import { signingKeyFromSeed } from "../src/matrix/signing.js";
import { createRoomsContext, type RoomsContext } from "../src/rooms/context.js";
import { createRoom } from "../src/rooms/create-room.js";
import { memberContent } from "../src/rooms/membership.js";
import { inRoomTransaction } from "../src/rooms/persist.js";
import { openAndMigrate } from "../src/server.js";

export interface BenchUser {
  userId: string;
  token: string;
  deviceId: string;
  requester: Requester;
}

/** The benchmark's configuration as the server validates it. */
export function validated(raw: Record<string, unknown>): Config {
  return validateConfig(raw, new Map(), { readSecretFile: () => "" }).config;
}

/** A RoomsContext as src/server.ts builds one (its own ephemeral signing key, the database's rate limiter). */
export async function openRooms(config: Config): Promise<{ db: Db; ctx: RoomsContext }> {
  const { db, stores } = await openAndMigrate(config);
  const accounts = createAccountsContext(config, stores);
  const limiter = new RateLimiter(rateLimitBucketsStore(db));
  const ctx = createRoomsContext(accounts, signingKeyFromSeed("ephemeral", randomBytes(32)), config, limiter);
  return { db, ctx };
}

/** Accounts without a password (nothing to hash) and a logged-in device each, `prefix0` … `prefix{n-1}`. */
export async function makeUsers(ctx: RoomsContext, prefix: string, n: number): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  for (let i = 0; i < n; i++) {
    const r = await registerUser(ctx, {
      localpart: `${prefix}${i}`,
      password: null,
      admin: false,
      userType: null,
      displayname: null,
      login: { deviceId: `DEV${i}`, initialDeviceDisplayName: null, validUntilMs: null },
    });
    const token = r.session!.accessToken;
    users.push({
      userId: r.userId,
      token,
      deviceId: r.session!.deviceId,
      requester: {
        userId: r.userId,
        deviceId: r.session!.deviceId,
        isGuest: false,
        admin: false,
        tokenHash: hashToken(token),
        impersonator: null,
      },
    });
  }
  return users;
}

/** A public room made by `creator` (createRoom, as `POST /createRoom` makes it) that `members` have joined. */
export async function makeRoom(ctx: RoomsContext, creator: BenchUser, members: BenchUser[]): Promise<string> {
  const { room_id: roomId } = await createRoom(ctx, creator.requester, { preset: "public_chat", name: "bench" });
  // One transaction for all the joins: the same events `POST /join` makes, without a commit each.
  const joining = members.filter((m) => m.userId !== creator.userId);
  const contents = await Promise.all(joining.map((m) => memberContent(ctx, m.userId, "join")));
  await inRoomTransaction(ctx, async (append) => {
    for (const [i, m] of joining.entries()) {
      await append({ roomId, type: "m.room.member", stateKey: m.userId, sender: m.userId, content: contents[i]! });
    }
  });
  return roomId;
}

/** `count` messages in `roomId` from `senders` in turn, `perTransaction` to a transaction, through the write path. */
export async function fillRoom(
  ctx: RoomsContext,
  roomId: string,
  senders: string[],
  count: number,
  perTransaction = 500,
): Promise<void> {
  for (let done = 0; done < count; done += perTransaction) {
    await inRoomTransaction(ctx, async (append) => {
      for (let i = done; i < Math.min(count, done + perTransaction); i++) {
        const sender = senders[i % senders.length]!;
        await append({ roomId, type: "m.room.message", sender, content: { msgtype: "m.text", body: `message ${i}` } });
      }
    });
  }
}
