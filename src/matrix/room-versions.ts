/**
 * @module Room versions (spec "Room Versions"): the properties in which versions 1–11 differ, as data, so the
 * redaction algorithm, event IDs and authorization rules ask a version what it does instead of comparing numbers.
 *
 * Version 12 (room IDs derived from the create event, creators above every power level) is not described yet.
 */

export type EventIdFormat = "server-scoped" | "base64" | "url-safe-base64";

export interface RoomVersion {
  id: string;
  /** v1–2: `$opaque:server` chosen by the sender; v3: Base64 of the reference hash; v4+: URL-safe Base64. */
  eventIdFormat: EventIdFormat;
  /** v1–5: `m.room.aliases` keeps `aliases` when redacted (MSC2432 removed that in v6). */
  redactionKeepsAliases: boolean;
  /** v7+: `knock` membership and join rule (MSC2403). */
  knocking: boolean;
  /** v8+: the `restricted` join rule; `allow` survives redaction of `m.room.join_rules` (MSC3083). */
  restrictedJoins: boolean;
  /** v9+: `join_authorised_via_users_server` survives redaction of `m.room.member` (MSC3375). */
  redactionKeepsAuthorisingUser: boolean;
  /** v10+: the `knock_restricted` join rule (MSC3787). */
  knockRestricted: boolean;
  /** v10+: power levels must be integers, not strings holding integers (MSC3667). */
  integerPowerLevels: boolean;
  /**
   * v11 (MSC2174, MSC2176, MSC3821, MSC3989): `redacts` moves into content; `m.room.create` keeps its whole
   * content and loses `creator`; power levels keep `invite`; `origin`, `membership` and `prev_state` are no
   * longer protected top-level keys; `third_party_invite.signed` survives redaction of a member event.
   */
  v11Redactions: boolean;
}

function version(id: string, n: number): RoomVersion {
  return {
    id,
    eventIdFormat: n <= 2 ? "server-scoped" : n === 3 ? "base64" : "url-safe-base64",
    redactionKeepsAliases: n <= 5,
    knocking: n >= 7,
    restrictedJoins: n >= 8,
    redactionKeepsAuthorisingUser: n >= 9,
    knockRestricted: n >= 10,
    integerPowerLevels: n >= 10,
    v11Redactions: n >= 11,
  };
}

export const ROOM_VERSIONS: ReadonlyMap<string, RoomVersion> = new Map(
  Array.from({ length: 11 }, (_, i) => [String(i + 1), Object.freeze(version(String(i + 1), i + 1))]),
);

/** The versions rooms may be created in; older ones stay known for redaction and IDs only. */
export const CREATABLE_ROOM_VERSIONS: readonly string[] = ["10", "11"];

/** Synapse's default (the spec has recommended 10, later 12); see docs/compatibility.md. */
export const DEFAULT_ROOM_VERSION = "11";

export function roomVersion(id: string): RoomVersion | null {
  return ROOM_VERSIONS.get(id) ?? null;
}
