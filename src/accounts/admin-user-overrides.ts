/**
 * @module What an admin sets on a user beyond the account (Synapse's `RateLimitRestServlet` and
 * `ExperimentalFeaturesRestServlet`): the user's message-limit override and their experimental features. Each
 * write lands in one transaction with its audit entry.
 */
import type { RatelimitOverride } from "../db/ratelimit-overrides.js";
import { ErrCode, MatrixError } from "../errors.js";
import { pythonTruthy } from "../shared/truth.js";
import { existingUser, localUserId } from "./admin-user-ids.js";
import { recordAudit, type AdminActor } from "./audit.js";
import type { AccountsContext } from "./context.js";

/** `{messages_per_second, burst_count}` as Synapse answers them; `{}` when the user has no override. */
export type RatelimitOverrideResponse = { messages_per_second: number; burst_count: number } | Record<string, never>;

function responseOf(o: RatelimitOverride | null): RatelimitOverrideResponse {
  return o ? { messages_per_second: o.messagesPerSecond, burst_count: o.burstCount } : {};
}

/** Python's `repr` of a JSON value, for Synapse's "%r parameter must be a positive int". */
function pythonRepr(v: unknown): string {
  if (typeof v === "string") return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  if (typeof v === "boolean") return v ? "True" : "False";
  if (v === null) return "None";
  return typeof v === "number" ? String(v) : JSON.stringify(v);
}

/**
 * The body of `POST …/override_ratelimit`, read as Synapse reads it: each field an integer of at least 0 (a
 * boolean or a fraction is not one), absent meaning 0.
 */
function parseRatelimitOverride(body: Record<string, unknown>): RatelimitOverride {
  const field = (name: string): number => {
    const v = name in body ? body[name] : 0;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw new MatrixError(ErrCode.InvalidParam, `${pythonRepr(v)} parameter must be a positive int`);
    }
    return v;
  };
  return { messagesPerSecond: field("messages_per_second"), burstCount: field("burst_count") };
}

/** `GET /_synapse/admin/v1/users/{userId}/override_ratelimit`. */
export async function getRatelimitOverride(ctx: AccountsContext, userId: string): Promise<RatelimitOverrideResponse> {
  await existingUser(ctx, userId, "Can only look up local users");
  return responseOf(await ctx.stores.ratelimitOverrides.get(userId));
}

/** `POST /_synapse/admin/v1/users/{userId}/override_ratelimit`: the override as stored. */
export async function setRatelimitOverride(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  readBody: () => Record<string, unknown>,
): Promise<RatelimitOverrideResponse> {
  await existingUser(ctx, userId, "Only local users can be ratelimited");
  const override = parseRatelimitOverride(readBody());
  await ctx.stores.transaction(async (t) => {
    const before = await t.ratelimitOverrides.get(userId);
    await t.ratelimitOverrides.set(userId, override);
    await recordAudit(t, ctx, actor, "user.override_ratelimit", userId, responseOf(before), responseOf(override));
  });
  return responseOf(override);
}

/** `DELETE /_synapse/admin/v1/users/{userId}/override_ratelimit`: back to the configured `rc_message`. */
export async function deleteRatelimitOverride(ctx: AccountsContext, actor: AdminActor, userId: string): Promise<void> {
  await existingUser(ctx, userId, "Only local users can be ratelimited");
  await ctx.stores.transaction(async (t) => {
    const before = await t.ratelimitOverrides.get(userId);
    if (!before || !(await t.ratelimitOverrides.delete(userId))) return;
    await recordAudit(t, ctx, actor, "user.delete_ratelimit_override", userId, responseOf(before), {});
  });
}

/**
 * Synapse's per-user experimental features (`ExperimentalFeature`): MSC3881 (remotely toggled push notifications),
 * MSC3575 (sliding sync), MSC4222 (`state_after` in `/sync`). Gatehouse implements none of them, so setting one
 * changes nothing but what these endpoints answer (docs/compatibility.md).
 */
export const EXPERIMENTAL_FEATURES = ["msc3881", "msc3575", "msc4222"] as const;

/** `GET /_synapse/admin/v1/experimental_features/{userId}`: every feature, false unless set on. */
export async function getExperimentalFeatures(
  ctx: AccountsContext,
  userId: string,
): Promise<{ features: Record<string, boolean> }> {
  localUserId(ctx, userId, "User must be local to check what experimental features are enabled.");
  const set = await ctx.stores.experimentalFeatures.forUser(userId);
  return { features: Object.fromEntries(EXPERIMENTAL_FEATURES.map((f) => [f, set.get(f) === true])) };
}

/**
 * The body of `PUT /_synapse/admin/v1/experimental_features/{userId}`: `{features: {name: bool}}`, non-empty, each
 * name one of `EXPERIMENTAL_FEATURES`. Synapse takes any value for the flag and fails on a database that wants a
 * boolean; here it must be one.
 */
function parseExperimentalFeatures(body: Record<string, unknown>): Map<string, boolean> {
  const features = body.features;
  if (!pythonTruthy(features)) throw new MatrixError(ErrCode.Unknown, "You must provide features to set.");
  if (typeof features !== "object" || features === null || Array.isArray(features)) {
    throw new MatrixError(ErrCode.BadJson, "'features' must be an object");
  }
  const entries = Object.entries(features as Record<string, unknown>);
  const out = new Map<string, boolean>();
  for (const [feature, enabled] of entries) {
    if (!(EXPERIMENTAL_FEATURES as readonly string[]).includes(feature)) {
      throw new MatrixError(
        ErrCode.Unknown,
        `${pythonRepr(feature)} is not recognised as a valid experimental feature.`,
      );
    }
    if (typeof enabled !== "boolean") {
      throw new MatrixError(ErrCode.BadJson, `The value of ${pythonRepr(feature)} must be a boolean`);
    }
    out.set(feature, enabled);
  }
  return out;
}

/** `PUT /_synapse/admin/v1/experimental_features/{userId}`: sets the features named, leaves the others. `{}`. */
export async function setExperimentalFeatures(
  ctx: AccountsContext,
  actor: AdminActor,
  userId: string,
  readBody: () => Record<string, unknown>,
): Promise<Record<string, never>> {
  const body = readBody();
  localUserId(ctx, userId, "User must be local to enable experimental features.");
  const features = parseExperimentalFeatures(body);
  if (!(await ctx.stores.users.get(userId))) throw new MatrixError(ErrCode.NotFound, "User not found");
  await ctx.stores.transaction(async (t) => {
    const current = await t.experimentalFeatures.forUser(userId);
    const before: Record<string, unknown> = {};
    for (const f of features.keys()) before[f] = current.get(f) ?? false;
    await t.experimentalFeatures.set(userId, features);
    await recordAudit(t, ctx, actor, "user.experimental_features", userId, before, Object.fromEntries(features));
  });
  return {};
}
