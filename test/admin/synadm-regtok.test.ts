/**
 * synadm's `regtok` commands (Debian's synadm 0.38) against a real Gatehouse: new (generated and named), list (all,
 * valid, invalid), details, update (limits set and cleared with -1), delete, and the server's refusals.
 *
 * synadm exits 0 even when the server refuses, so every check reads its JSON output (`-o json`). `--ts` keeps
 * `expiry_time` as milliseconds (synadm otherwise rewrites it as a local date string).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureSynadm, synadmUnavailable, type Synadm } from "./synadm-support.js";
import { ADMIN, closeAdminFixture, startAdminFixture, type AdminFixture } from "./support.js";

const unavailable = synadmUnavailable();
if (unavailable) console.warn(`skipping synadm regtok tests: ${unavailable}`);

describe.skipIf(unavailable !== null)("synadm regtok", () => {
  let fx: AdminFixture;
  let synadm: Synadm["run"];
  let answer: Synadm["answer"];

  const tokensOf = (list: Record<string, unknown>) =>
    (list.registration_tokens as { token: string }[]).map((t) => t.token).sort();

  beforeAll(async () => {
    fx = await startAdminFixture("sqlite");
    ({ run: synadm, answer } = configureSynadm(fx.url, fx.admin.token));
  });
  afterAll(() => closeAdminFixture(fx));

  it("regtok new: a generated token (synadm always sends length 16 and null limits)", async () => {
    const t = await answer("regtok", "new");
    expect(t).toEqual({
      token: expect.stringMatching(/^[A-Za-z0-9._~-]{16}$/),
      uses_allowed: null,
      pending: 0,
      completed: 0,
      expiry_time: null,
    });
    expect((await answer("regtok", "new", "-l", "5")).token).toHaveLength(5);
  });

  it("regtok new: a named token with limits, and the refusals", async () => {
    const expiry = Date.now() + 3_600_000;
    expect(await answer("regtok", "new", "-n", "synadm-tok", "-u", "5", "-t", String(expiry))).toEqual({
      token: "synadm-tok",
      uses_allowed: 5,
      pending: 0,
      completed: 0,
      expiry_time: expiry,
    });
    expect(await answer("regtok", "new", "-n", "synadm-tok")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "Token already exists: synadm-tok",
    });
    expect(await answer("regtok", "new", "-n", "bad token")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "token must consist only of characters matched by the regex [A-Za-z0-9-_]",
    });
    expect(await answer("regtok", "new", "-l", "65")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "length must be greater than zero and not greater than 64",
    });
    expect(await answer("regtok", "new", "-u", "-3")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "uses_allowed must be a non-negative integer or null",
    });
    expect(await answer("regtok", "new", "-t", "1000")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "expiry_time must not be in the past",
    });
    expect(await answer("regtok", "new", "-n", "synadm-off", "-u", "0")).toMatchObject({ uses_allowed: 0 });
  });

  it("regtok list: all, valid, invalid", async () => {
    const all = await answer("regtok", "list", "--ts");
    expect(tokensOf(all)).toEqual(expect.arrayContaining(["synadm-off", "synadm-tok"]));
    expect(tokensOf(all)).toHaveLength(4);
    expect((all.registration_tokens as { token: string }[]).find((t) => t.token === "synadm-tok")).toMatchObject({
      uses_allowed: 5,
      expiry_time: expect.any(Number),
    });
    expect(tokensOf(await answer("regtok", "list", "--invalid"))).toEqual(["synadm-off"]);
    const valid = tokensOf(await answer("regtok", "list", "--valid"));
    expect(valid).toHaveLength(3);
    expect(valid).not.toContain("synadm-off");
  });

  it("regtok details, and an unknown token", async () => {
    expect(await answer("regtok", "details", "synadm-tok", "--ts")).toMatchObject({
      token: "synadm-tok",
      uses_allowed: 5,
      pending: 0,
      completed: 0,
      expiry_time: expect.any(Number),
    });
    // Without --ts synadm shows the expiry as a date string.
    expect((await answer("regtok", "details", "synadm-tok")).expiry_time).toEqual(expect.any(String));
    expect(await answer("regtok", "details", "missing")).toEqual({
      errcode: "M_NOT_FOUND",
      error: "No such registration token: missing",
    });
  });

  it("regtok update: set, clear with -1, refuse, unknown", async () => {
    const later = Date.now() + 7_200_000;
    expect(await answer("regtok", "update", "synadm-tok", "-u", "9", "-t", String(later))).toEqual({
      token: "synadm-tok",
      uses_allowed: 9,
      pending: 0,
      completed: 0,
      expiry_time: later,
    });
    expect(await answer("regtok", "update", "synadm-tok", "-u", "-1", "-t", "-1")).toEqual({
      token: "synadm-tok",
      uses_allowed: null,
      pending: 0,
      completed: 0,
      expiry_time: null,
    });
    expect(await answer("regtok", "update", "synadm-tok", "-t", "1000")).toEqual({
      errcode: "M_INVALID_PARAM",
      error: "expiry_time must not be in the past",
    });
    expect(await answer("regtok", "update", "missing", "-u", "1")).toEqual({
      errcode: "M_NOT_FOUND",
      error: "No such registration token: missing",
    });
  });

  it("regtok delete, then it is gone", async () => {
    const r = await synadm("regtok", "delete", "synadm-tok");
    expect(r.stdout).toContain("Registration token successfully deleted.");
    expect(r.json).toEqual([]);
    expect((await fx.as("GET", `${ADMIN}/v1/registration_tokens/synadm-tok`)).status).toBe(404);
    expect(await answer("regtok", "delete", "synadm-tok")).toEqual({
      errcode: "M_NOT_FOUND",
      error: "No such registration token: synadm-tok",
    });
  });
});
