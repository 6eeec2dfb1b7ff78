/**
 * @module The `user_threepids` and `user_external_ids` tables: the e-mail addresses and phone numbers, and the
 * identity-provider IDs, an admin attached to an account. Each address or external ID belongs to one account at
 * most (the primary keys say so; the database is the judge of a race).
 */
import { PostgresAdapter, sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface Threepid {
  medium: string;
  address: string;
  /** Milliseconds. */
  validatedAt: number;
  addedAt: number;
  /** The directory that added it ("ldap"); null or absent: the user or an admin (migration 0031). */
  source?: string | null;
}

export interface ExternalId {
  authProvider: string;
  externalId: string;
}

export interface ThreepidsStore {
  listForUser(userId: string): Promise<(Threepid & { source: string | null })[]>;
  /** Throws a unique violation when the address belongs to an account already. */
  add(userId: string, threepid: Threepid): Promise<void>;
  remove(userId: string, medium: string, address: string): Promise<void>;
  deleteForUser(userId: string): Promise<void>;
  /** Adds many addresses in one statement; a taken address throws a unique violation and adds none. */
  addMany(entries: (Threepid & { userId: string })[]): Promise<void>;
  /** Who holds each of `addresses` (of one medium): address → user ID, for the addresses that are taken. */
  owners(medium: string, addresses: string[]): Promise<Map<string, string>>;
}

export interface ExternalIdsStore {
  listForUser(userId: string): Promise<ExternalId[]>;
  /** The account an external ID belongs to, or null. */
  owner(authProvider: string, externalId: string): Promise<string | null>;
  /** Throws a unique violation when the ID belongs to an account already. */
  add(userId: string, id: ExternalId): Promise<void>;
  deleteForUser(userId: string): Promise<void>;
}

export function threepidsStore(db: Kysely<Database>): ThreepidsStore {
  return {
    async listForUser(userId) {
      const rows = await db
        .selectFrom("user_threepids")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("medium")
        .orderBy("address")
        .execute();
      return rows.map((r) => ({
        medium: r.medium,
        address: r.address,
        validatedAt: Number(r.validated_at),
        addedAt: Number(r.added_at),
        source: r.source,
      }));
    },
    async add(userId, t) {
      await db
        .insertInto("user_threepids")
        .values({
          user_id: userId,
          medium: t.medium,
          address: t.address,
          validated_at: t.validatedAt,
          added_at: t.addedAt,
          source: t.source ?? null,
        })
        .execute();
    },
    async remove(userId, medium, address) {
      await db
        .deleteFrom("user_threepids")
        .where("user_id", "=", userId)
        .where("medium", "=", medium)
        .where("address", "=", address)
        .execute();
    },
    async deleteForUser(userId) {
      await db.deleteFrom("user_threepids").where("user_id", "=", userId).execute();
    },
    async addMany(entries) {
      if (entries.length === 0) return;
      await db
        .insertInto("user_threepids")
        .values(
          entries.map((t) => ({
            user_id: t.userId,
            medium: t.medium,
            address: t.address,
            validated_at: t.validatedAt,
            added_at: t.addedAt,
          })),
        )
        .execute();
    },
    async owners(medium, addresses) {
      if (addresses.length === 0) return new Map();
      const unique = [...new Set(addresses)];
      if (db.getExecutor().adapter instanceof PostgresAdapter) {
        // One primary-key probe per address (`limit 1` keeps the planner from turning it into a scan and a hash
        // join, which it does for a long `in (…)` list too, before the table has statistics).
        const { rows } = await sql<{ address: string; user_id: string }>`select t.address, t.user_id
          from unnest(${unique}::text[]) as k(a) cross join lateral
          (select address, user_id from user_threepids where medium = ${medium} and address = k.a limit 1) as t`.execute(
          db,
        );
        return new Map(rows.map((r) => [r.address, r.user_id]));
      }
      const rows = await db
        .selectFrom("user_threepids")
        .select(["address", "user_id"])
        .where("medium", "=", medium)
        .where("address", "in", unique)
        .execute();
      return new Map(rows.map((r) => [r.address, r.user_id]));
    },
  };
}

export function externalIdsStore(db: Kysely<Database>): ExternalIdsStore {
  return {
    async listForUser(userId) {
      const rows = await db
        .selectFrom("user_external_ids")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("auth_provider")
        .orderBy("external_id")
        .execute();
      return rows.map((r) => ({ authProvider: r.auth_provider, externalId: r.external_id }));
    },
    async owner(authProvider, externalId) {
      const row = await db
        .selectFrom("user_external_ids")
        .select("user_id")
        .where("auth_provider", "=", authProvider)
        .where("external_id", "=", externalId)
        .executeTakeFirst();
      return row?.user_id ?? null;
    },
    async add(userId, id) {
      await db
        .insertInto("user_external_ids")
        .values({ user_id: userId, auth_provider: id.authProvider, external_id: id.externalId })
        .execute();
    },
    async deleteForUser(userId) {
      await db.deleteFrom("user_external_ids").where("user_id", "=", userId).execute();
    },
  };
}
