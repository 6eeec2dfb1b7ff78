/**
 * The pages' own logic that needs no browser: the CSV reader of the import screen, the password generator and
 * policy check, and the names of invite tokens.
 */
import { describe, expect, it } from "vitest";
import { parseCsv } from "../../web/src/shared/csv.js";
import { checkPolicy, generatePassword, inviteToken } from "../../web/src/shared/password.js";

describe("parseCsv", () => {
  it("reads quoted fields with commas, doubled quotes and line breaks, and either line end", () => {
    const text = 'username,displayname\r\nalice,"Martin, Alice"\nbob,"Bob ""the builder"""\ncarol,"two\nlines"\n';
    expect(parseCsv(text)).toEqual([
      ["username", "displayname"],
      ["alice", "Martin, Alice"],
      ["bob", 'Bob "the builder"'],
      ["carol", "two\nlines"],
    ]);
  });

  it("keeps empty fields and a last line without a line end", () => {
    expect(parseCsv("a,,c\n,,\nx,y,z")).toEqual([
      ["a", "", "c"],
      ["", "", ""],
      ["x", "y", "z"],
    ]);
  });
});

describe("generated passwords", () => {
  it("are 20 characters with every character class, so the strictest policy accepts them", () => {
    const strictest = {
      "m.minimum_length": 20,
      "m.require_digit": true,
      "m.require_symbol": true,
      "m.require_lowercase": true,
      "m.require_uppercase": true,
    };
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      expect(p).toHaveLength(20);
      expect(checkPolicy(p, strictest).every((c) => c.met)).toBe(true);
      seen.add(p);
    }
    expect(seen.size).toBe(200);
  });

  it("are checked against the policy rule by rule", () => {
    expect(checkPolicy("abc", { "m.minimum_length": 8, "m.require_digit": true })).toEqual([
      { rule: "At least 8 characters", met: false },
      { rule: "A digit (0–9)", met: false },
    ]);
    expect(checkPolicy("anything", {})).toEqual([]);
  });
});

describe("invite tokens", () => {
  it("are letters and digits only, so a link cannot lose its last character to a chat app", () => {
    for (let i = 0; i < 100; i++) expect(inviteToken()).toMatch(/^[A-Za-z0-9]{20}$/);
  });
});
