/**
 * The pages' own logic that needs no browser: the CSV reader of the import screen (the CLI's, from src/shared), the
 * e-mail check, the password generator and policy check, and the names of invite tokens.
 */
import { describe, expect, it } from "vitest";
import { parseCsv } from "../../src/shared/csv.js";
import { canonicalEmail } from "../../src/shared/email.js";
import { CSV_BOOLEAN, parseBoolean, PROMPT_YES, pythonTruthy, QUERY_BOOLEAN } from "../../src/shared/truth.js";
import { checkPolicy, generatePassword, inviteToken } from "../../web/src/shared/password.js";

describe("parseCsv", () => {
  it("reads quoted fields with commas, doubled quotes and line breaks, and either line end", () => {
    const text = 'username,displayname\r\nalice,"Martin, Alice"\nbob,"Bob ""the builder"""\ncarol,"two\nlines"\n';
    expect(parseCsv(text).map((r) => r.fields)).toEqual([
      ["username", "displayname"],
      ["alice", "Martin, Alice"],
      ["bob", 'Bob "the builder"'],
      ["carol", "two\nlines"],
    ]);
  });

  it("keeps empty fields and a last line without a line end", () => {
    expect(parseCsv("a,,c\n,,\nx,y,z").map((r) => r.fields)).toEqual([
      ["a", "", "c"],
      ["", "", ""],
      ["x", "y", "z"],
    ]);
  });
});

describe("canonicalEmail", () => {
  it("lower-cases and trims an address, and refuses what is not one", () => {
    expect(canonicalEmail("  Alice.Smith@Example.ORG ")).toBe("alice.smith@example.org");
    expect(canonicalEmail("root@localhost")).toBe("root@localhost");
    for (const bad of [
      "",
      "nobody",
      "a@",
      "@b.org",
      "a@@b.org",
      "a@b@c.org",
      "a b@c.org",
      "a@b..org",
      "a@.b.org",
      "a@b.",
    ]) {
      expect(canonicalEmail(bad)).toBeNull();
    }
  });
});

describe("parseBoolean", () => {
  it("reads a query string as Synapse's parse_boolean: true or false exactly", () => {
    expect(parseBoolean("true", QUERY_BOOLEAN)).toBe(true);
    expect(parseBoolean("false", QUERY_BOOLEAN)).toBe(false);
    for (const other of ["True", "1", "yes", " true", ""]) expect(parseBoolean(other, QUERY_BOOLEAN)).toBeNull();
  });

  it("reads a CSV cell as true/1/yes or false/0/no in any case, and nothing else", () => {
    for (const yes of ["true", "TRUE", "1", "yes", " Yes "]) expect(parseBoolean(yes, CSV_BOOLEAN)).toBe(true);
    for (const no of ["false", "0", "No"]) expect(parseBoolean(no, CSV_BOOLEAN)).toBe(false);
    for (const other of ["maybe", "", "2", "on", "y"]) expect(parseBoolean(other, CSV_BOOLEAN)).toBeNull();
  });

  it("reads the Make admin prompt as Synapse does: y, yes or true exactly", () => {
    for (const yes of ["y", "yes", "true"]) expect(parseBoolean(yes, PROMPT_YES)).toBe(true);
    for (const no of ["Y", "YES", "1", "no", ""]) expect(parseBoolean(no, PROMPT_YES)).toBeNull();
  });

  it("reads a JSON value as Python's truth", () => {
    for (const f of [null, false, 0, "", [], {}]) expect(pythonTruthy(f)).toBe(false);
    for (const t of [true, 1, -1, "no", "false", [0], { a: 1 }]) expect(pythonTruthy(t)).toBe(true);
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
