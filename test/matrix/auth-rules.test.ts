import { describe, expect, it } from "vitest";
import { authEventKeys, AuthError, checkEventAuth, type AuthEvent } from "../../src/matrix/auth-rules.js";
import { roomVersion, type RoomVersion } from "../../src/matrix/room-versions.js";

const ROOM = "!room:a.example";
const ALICE = "@alice:a.example";
const BOB = "@bob:a.example";
const CAROL = "@carol:a.example";

/** A room's state as the tests build it: events applied in order, each checked first. */
class Room {
  private readonly state = new Map<string, AuthEvent>();
  private n = 0;
  constructor(readonly v: RoomVersion) {}

  lookup = (type: string, key: string) => this.state.get(`${type}|${key}`);

  event(sender: string, type: string, content: Record<string, unknown>, stateKey?: string): AuthEvent {
    const e: AuthEvent = {
      event_id: `$${++this.n}`,
      room_id: ROOM,
      sender,
      type,
      content,
      prev_events: [`$${this.n - 1}`],
    };
    if (stateKey !== undefined) e.state_key = stateKey;
    return e;
  }

  check(e: AuthEvent): void {
    checkEventAuth(e, this.lookup, this.v);
  }

  /** Checks and applies; returns the room for chaining. */
  apply(sender: string, type: string, content: Record<string, unknown>, stateKey?: string): this {
    const e = this.event(sender, type, content, stateKey);
    this.check(e);
    if (stateKey !== undefined) this.state.set(`${type}|${stateKey}`, e);
    return this;
  }

  refuses(sender: string, type: string, content: Record<string, unknown>, stateKey?: string): string {
    try {
      this.check(this.event(sender, type, content, stateKey));
    } catch (err) {
      expect(err).toBeInstanceOf(AuthError);
      return (err as Error).message;
    }
    throw new Error(`${type} by ${sender} was allowed`);
  }

  member(sender: string, membership: string, target = sender, extra: Record<string, unknown> = {}): this {
    return this.apply(sender, "m.room.member", { membership, ...extra }, target);
  }
}

/** Alice's create event, the first in the room. */
function createEvent(content: Record<string, unknown>): AuthEvent {
  return {
    event_id: "$0",
    room_id: ROOM,
    sender: ALICE,
    type: "m.room.create",
    state_key: "",
    content,
    prev_events: [],
  };
}

/** A room as createRoom makes it: create, creator's join, power levels, join rules. */
function newRoom(version: string, joinRule = "invite", pl: Record<string, unknown> = {}): Room {
  const v = roomVersion(version)!;
  const room = new Room(v);
  const createContent: Record<string, unknown> = { room_version: version };
  if (!v.v11Redactions) createContent.creator = ALICE;
  const create = createEvent(createContent);
  room.check(create);
  (room as unknown as { state: Map<string, AuthEvent> }).state.set("m.room.create|", create);
  room.member(ALICE, "join");
  room.apply(ALICE, "m.room.power_levels", { users: { [ALICE]: 100 }, ...pl }, "");
  room.apply(ALICE, "m.room.join_rules", { join_rule: joinRule }, "");
  return room;
}

describe.each(["10", "11"])("room version %s", (version) => {
  describe("m.room.create", () => {
    const v = roomVersion(version)!;
    const create = (over: Partial<AuthEvent>): AuthEvent => ({
      room_id: ROOM,
      sender: ALICE,
      type: "m.room.create",
      state_key: "",
      content: { room_version: version, creator: ALICE },
      prev_events: [],
      ...over,
    });
    const check = (e: AuthEvent) => () => checkEventAuth(e, () => undefined, v);

    it("allows a well-formed create event", () => {
      expect(check(create({}))).not.toThrow();
    });
    it("refuses one with prev_events, from another server, or of an unknown version", () => {
      expect(check(create({ prev_events: ["$x"] }))).toThrow(/first/);
      expect(check(create({ sender: "@alice:b.example" }))).toThrow(/server/);
      expect(check(create({ content: { room_version: "99", creator: ALICE } }))).toThrow(/version/);
    });
    it(version === "11" ? "no longer needs creator" : "needs creator", () => {
      const e = create({ content: { room_version: version } });
      if (version === "11") expect(check(e)).not.toThrow();
      else expect(check(e)).toThrow(/creator/);
    });
  });

  it("the creator's first join is allowed; nobody else joins an invite-only room uninvited", () => {
    const room = newRoom(version);
    expect(room.refuses(BOB, "m.room.member", { membership: "join" }, BOB)).toMatch(/not invited/);
    expect(room.refuses(ALICE, "m.room.member", { membership: "join" }, BOB)).toMatch(/another user/);
  });

  it("invite, then join; the invited may also decline", () => {
    const room = newRoom(version).member(ALICE, "invite", BOB).member(BOB, "join");
    room.member(ALICE, "invite", CAROL).member(CAROL, "leave");
    expect(room.refuses(ALICE, "m.room.member", { membership: "invite" }, BOB)).toMatch(/already in the room/);
    expect(room.refuses(CAROL, "m.room.member", { membership: "leave" }, CAROL)).toMatch(/not in this room/);
  });

  it("public rooms: anyone joins, a banned user does not, nor can the banned be invited", () => {
    const room = newRoom(version, "public").member(BOB, "join").member(ALICE, "ban", BOB);
    expect(room.refuses(BOB, "m.room.member", { membership: "join" }, BOB)).toMatch(/banned/);
    expect(room.refuses(ALICE, "m.room.member", { membership: "invite" }, BOB)).toMatch(/banned/);
    room.member(ALICE, "leave", BOB).member(BOB, "join");
  });

  it("invites need the invite level and a joined sender", () => {
    const room = newRoom(version, "public", { invite: 50 }).member(BOB, "join");
    expect(room.refuses(BOB, "m.room.member", { membership: "invite" }, CAROL)).toMatch(/permission to invite/);
    expect(room.refuses(CAROL, "m.room.member", { membership: "invite" }, "@dan:a.example")).toMatch(
      /not in this room/,
    );
  });

  it("kick and ban need their level and a higher level than the target", () => {
    const room = newRoom(version, "public", { users: { [ALICE]: 100, [BOB]: 50 } }).member(BOB, "join");
    room.member(CAROL, "join");
    expect(room.refuses(CAROL, "m.room.member", { membership: "leave" }, BOB)).toMatch(/kick/);
    expect(room.refuses(BOB, "m.room.member", { membership: "ban" }, ALICE)).toMatch(/ban/);
    room.member(BOB, "leave", CAROL).member(CAROL, "join").member(BOB, "ban", CAROL);
    // Unbanning needs the ban level: give the kick level to a user without it.
    room.apply(ALICE, "m.room.power_levels", { users: { [ALICE]: 100, [BOB]: 50 }, ban: 60, kick: 50 }, "");
    expect(room.refuses(BOB, "m.room.member", { membership: "leave" }, CAROL)).toMatch(/unban/);
    room.member(ALICE, "leave", CAROL);
  });

  it("knocking only where the join rule allows it, and not while joined", () => {
    const knockRoom = newRoom(version, "knock").member(BOB, "knock");
    knockRoom.member(ALICE, "invite", BOB).member(BOB, "join");
    expect(knockRoom.refuses(BOB, "m.room.member", { membership: "knock" }, BOB)).toMatch(/join/);
    expect(newRoom(version, "invite").refuses(BOB, "m.room.member", { membership: "knock" }, BOB)).toMatch(/knock/);
    newRoom(version, "knock_restricted").member(BOB, "knock");
  });

  it("restricted joins need an authorising member who may invite", () => {
    const room = newRoom(version, "restricted", { invite: 50, users: { [ALICE]: 100 } });
    room.apply(ALICE, "m.room.join_rules", { join_rule: "restricted", allow: [] }, "");
    expect(room.refuses(BOB, "m.room.member", { membership: "join" }, BOB)).toMatch(/not invited/);
    room.member(BOB, "join", BOB, { join_authorised_via_users_server: ALICE });
    expect(
      room.refuses(CAROL, "m.room.member", { membership: "join", join_authorised_via_users_server: BOB }, CAROL),
    ).toMatch(/authorising/);
  });

  it("other events need a joined sender and the event's level", () => {
    const room = newRoom(version, "public", {
      state_default: 0,
      invite: 50,
      events: { "m.room.name": 50 },
    }).member(BOB, "join");
    room.apply(BOB, "m.room.message", { body: "hi" });
    expect(room.refuses(CAROL, "m.room.message", { body: "hi" })).toMatch(/not in this room/);
    expect(room.refuses(BOB, "m.room.name", { name: "x" }, "")).toMatch(/permission to send the state event/);
    expect(room.refuses(BOB, "m.custom", {}, ALICE)).toMatch(/own user ID/);
    room.apply(BOB, "m.custom.state", {}, BOB).apply(ALICE, "m.room.name", { name: "x" }, "");
    expect(room.refuses(BOB, "m.room.third_party_invite", {}, "token")).toMatch(/permission to invite/);
  });

  it("power level changes stay within the sender's own level", () => {
    const room = newRoom(version, "public", { users: { [ALICE]: 100, [BOB]: 50, [CAROL]: 50 } });
    room.member(BOB, "join").member(CAROL, "join");
    const base = { users: { [ALICE]: 100, [BOB]: 50, [CAROL]: 50 }, state_default: 50 };
    expect(room.refuses(BOB, "m.room.power_levels", { ...base, users: { ...base.users, [BOB]: 60 } }, "")).toMatch(
      /above your own/,
    );
    expect(room.refuses(BOB, "m.room.power_levels", { ...base, users: { ...base.users, [CAROL]: 0 } }, "")).toMatch(
      /at least your own/,
    );
    expect(room.refuses(BOB, "m.room.power_levels", { ...base, kick: 75 }, "")).toMatch(/"kick"/);
    expect(room.refuses(BOB, "m.room.power_levels", { ...base, events: { "m.room.name": 99 } }, "")).toMatch(
      /m.room.name/,
    );
    // Lowering oneself is always allowed.
    room.apply(BOB, "m.room.power_levels", { ...base, users: { ...base.users, [BOB]: 10 } }, "");
  });

  it("power levels must be well-formed", () => {
    const room = newRoom(version);
    expect(room.refuses(ALICE, "m.room.power_levels", { users: { "not-a-user": 5, [ALICE]: 100 } }, "")).toMatch(
      /users/,
    );
    expect(room.refuses(ALICE, "m.room.power_levels", { users: { [ALICE]: 100 }, ban: "50" }, "")).toMatch(/integer/);
    expect(room.refuses(ALICE, "m.room.power_levels", { users: { [ALICE]: 100 }, events: { x: 1.5 } }, "")).toMatch(
      /integers/,
    );
  });

  it("rooms with m.federate false refuse other servers' users", () => {
    const v = roomVersion(version)!;
    const create = createEvent({ creator: ALICE, "m.federate": false });
    const state = (t: string, k: string) => (t === "m.room.create" && k === "" ? create : undefined);
    expect(() =>
      checkEventAuth(
        {
          room_id: ROOM,
          sender: "@eve:b.example",
          type: "m.room.member",
          state_key: "@eve:b.example",
          content: { membership: "join" },
        },
        state,
        v,
      ),
    ).toThrow(/not federated/);
  });
});

it("before v10, power levels may be strings holding integers", () => {
  const room = newRoom("9");
  room.apply(ALICE, "m.room.power_levels", { users: { [ALICE]: "100" }, ban: "50" }, "");
});

it("auth events selection", () => {
  expect(authEventKeys({ room_id: ROOM, sender: ALICE, type: "m.room.message", content: {} })).toEqual([
    ["m.room.create", ""],
    ["m.room.power_levels", ""],
    ["m.room.member", ALICE],
  ]);
  expect(
    authEventKeys({
      room_id: ROOM,
      sender: BOB,
      type: "m.room.member",
      state_key: BOB,
      content: { membership: "join", join_authorised_via_users_server: ALICE },
    }),
  ).toEqual([
    ["m.room.create", ""],
    ["m.room.power_levels", ""],
    ["m.room.member", BOB],
    ["m.room.join_rules", ""],
    ["m.room.member", ALICE],
  ]);
  expect(authEventKeys({ room_id: ROOM, sender: ALICE, type: "m.room.create", state_key: "", content: {} })).toEqual(
    [],
  );
});
