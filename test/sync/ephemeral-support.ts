/**
 * What the typing, receipt and presence tests share: an open server on a test clock (so timeouts pass without
 * waiting), users, and `/sync` calls that keep the token, each response checked against the spec.
 */
import { createTestDatabase, type DatabaseKind } from "../helpers/databases.js";
import { startTestServer, testClock, type TestClock, type TestServer } from "../helpers/server.js";
import type { RawConfig } from "../../src/config/validate.js";
import { ok, type ClientUser } from "../rooms/support.js";
import { NO_LIMITS } from "../api/sync-support.js";

export async function startClockedServer(
  kind: DatabaseKind,
  overrides: RawConfig = {},
): Promise<{ server: TestServer; clock: TestClock }> {
  const clock = testClock();
  const server = await startTestServer(
    await createTestDatabase(kind),
    {
      enable_registration: true,
      enable_registration_without_verification: true,
      ...NO_LIMITS,
      ...overrides,
    },
    { clock },
  );
  return { server, clock };
}

export interface EphemeralEvent {
  type: string;
  content: Record<string, unknown>;
}

export interface EphemeralSync {
  next_batch: string;
  rooms: {
    join: Record<string, { ephemeral: { events: EphemeralEvent[] }; account_data: { events: EphemeralEvent[] } }>;
  };
  presence: { events: { type: string; sender: string; content: Record<string, unknown> }[] };
}

/** A user's sync position, moved on by each `next`. */
export class Syncer {
  token: string | null = null;
  constructor(
    private readonly base: string,
    readonly user: ClientUser,
  ) {}

  async next(query = "timeout=0"): Promise<EphemeralSync> {
    const since = this.token === null ? "" : `since=${this.token}&`;
    const r = await ok<EphemeralSync>(this.base, this.user, "GET", `/sync?${since}${query}`);
    this.token = r.next_batch;
    return r;
  }

  /** The room's ephemeral events of type `type` in the next sync. */
  async ephemeral(roomId: string, type: string, query?: string): Promise<EphemeralEvent[]> {
    const r = await this.next(query);
    return (r.rooms.join[roomId]?.ephemeral.events ?? []).filter((e) => e.type === type);
  }
}
