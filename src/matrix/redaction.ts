/**
 * @module The redaction algorithm (spec "Client-Server API → Redactions" and each room version's "Redactions"
 * section): what is left of an event once redacted. Event IDs (reference hashes) and signatures are computed over
 * the redacted form, so this must match other servers exactly.
 */
import type { RoomVersion } from "./room-versions.js";

type Json = Record<string, unknown>;

const TOP_LEVEL_ALWAYS = [
  "event_id",
  "type",
  "room_id",
  "sender",
  "state_key",
  "content",
  "hashes",
  "signatures",
  "depth",
  "prev_events",
  "auth_events",
  "origin_server_ts",
];
/** Protected before v11 only (MSC3989 and MSC2176 dropped them). */
const TOP_LEVEL_BEFORE_V11 = ["origin", "membership", "prev_state"];

function contentKeysKept(type: string, v: RoomVersion): string[] {
  switch (type) {
    case "m.room.member":
      return v.redactionKeepsAuthorisingUser ? ["membership", "join_authorised_via_users_server"] : ["membership"];
    case "m.room.create":
      return ["creator"];
    case "m.room.join_rules":
      return v.restrictedJoins ? ["join_rule", "allow"] : ["join_rule"];
    case "m.room.power_levels": {
      const keys = ["ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"];
      return v.v11Redactions ? [...keys, "invite"] : keys;
    }
    case "m.room.aliases":
      return v.redactionKeepsAliases ? ["aliases"] : [];
    case "m.room.history_visibility":
      return ["history_visibility"];
    case "m.room.redaction":
      return v.v11Redactions ? ["redacts"] : [];
    default:
      return [];
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function prunedContent(type: string, content: Json, v: RoomVersion): Json {
  if (type === "m.room.create" && v.v11Redactions) return { ...content };
  const kept: Json = {};
  for (const key of contentKeysKept(type, v)) if (key in content) kept[key] = content[key];
  if (type === "m.room.member" && v.v11Redactions) {
    const invite = content.third_party_invite;
    if (isObject(invite) && "signed" in invite) kept.third_party_invite = { signed: invite.signed };
  }
  return kept;
}

/**
 * The redacted form of `event`: the protected top-level keys and the content keys its type keeps. `unsigned` is
 * not among them; whoever serves the event adds `redacted_because` to a fresh one. Works on PDUs and client events.
 */
export function redactEvent(event: Json, v: RoomVersion): Json {
  const keep = v.v11Redactions ? TOP_LEVEL_ALWAYS : [...TOP_LEVEL_ALWAYS, ...TOP_LEVEL_BEFORE_V11];
  const out: Json = {};
  for (const key of keep) if (key in event) out[key] = event[key];
  const type = typeof event.type === "string" ? event.type : "";
  out.content = prunedContent(type, isObject(event.content) ? event.content : {}, v);
  return out;
}
