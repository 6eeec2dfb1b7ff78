import { describe, expect, it } from "vitest";
import {
  isValidEventId,
  isValidRoomAlias,
  isValidRoomId,
  isValidServerName,
  isValidUserId,
  newRoomId,
  parseRoomAlias,
  parseUserId,
} from "../../src/matrix/ids.js";

describe("server names (spec grammar examples)", () => {
  it.each([
    "matrix.org",
    "matrix.org:8888",
    "1.2.3.4",
    "1.2.3.4:1234",
    "[1234:5678::abcd]",
    "[1234:5678::abcd]:5678",
    "localhost",
  ])("accepts %s", (name) => {
    expect(isValidServerName(name)).toBe(true);
  });

  it.each(["", "matrix.org:", "matrix.org:123456", "exa mple.org", "ex_ample.org", "[::1", "1.2.3.4:x", "a:b:c"])(
    "refuses %j",
    (name) => {
      expect(isValidServerName(name)).toBe(false);
    },
  );
});

describe("user IDs", () => {
  it("parses new and historical localparts", () => {
    expect(parseUserId("@alice:example.org")).toEqual({ localpart: "alice", serverName: "example.org" });
    expect(parseUserId("@Alice!x:example.org:8448")).toEqual({ localpart: "Alice!x", serverName: "example.org:8448" });
  });

  it.each(["alice:example.org", "@alice", "@:example.org", "@al ice:example.org", "@alice:", "@é:x.org", "@a\u0000:x"])(
    "refuses %j",
    (id) => {
      expect(isValidUserId(id)).toBe(false);
    },
  );

  it("refuses IDs over 255 bytes", () => {
    expect(isValidUserId(`@${"a".repeat(240)}:example.org`)).toBe(true);
    expect(isValidUserId(`@${"a".repeat(250)}:example.org`)).toBe(false);
  });
});

describe("room IDs, aliases and event IDs", () => {
  it("room IDs", () => {
    expect(isValidRoomId("!abcDEF:example.org")).toBe(true);
    expect(isValidRoomId("!:example.org")).toBe(false);
    expect(isValidRoomId("#abc:example.org")).toBe(false);
    expect(isValidRoomId("!abc")).toBe(false);
  });

  it("aliases", () => {
    expect(parseRoomAlias("#room:example.org")).toEqual({ alias: "room", serverName: "example.org" });
    expect(isValidRoomAlias("#caf\u00e9:example.org")).toBe(true);
    expect(isValidRoomAlias("#:example.org")).toBe(false);
    expect(isValidRoomAlias("#a b:example.org")).toBe(false);
    expect(isValidRoomAlias("room:example.org")).toBe(false);
  });

  it("event IDs of every format", () => {
    expect(isValidEventId("$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk")).toBe(true);
    expect(isValidEventId("$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg")).toBe(true);
    expect(isValidEventId("$0:domain")).toBe(true);
    expect(isValidEventId("$")).toBe(false);
    expect(isValidEventId("event")).toBe(false);
    expect(isValidEventId("$short")).toBe(false);
  });

  it("new room IDs are 18 letters on this server", () => {
    const id = newRoomId("example.org", (n) => new Uint8Array(n).map((_, i) => i * 7));
    expect(id).toMatch(/^![A-Za-z]{18}:example\.org$/);
    expect(isValidRoomId(id)).toBe(true);
  });
});
