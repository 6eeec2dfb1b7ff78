/**
 * The interactive prompts on a real terminal (a pseudo-terminal driven by test/helpers/pty-run.py): Synapse's exact
 * wording and order, a password that is never shown, and the answers' meaning.
 */
import { userInfo } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  passwordMatches,
  ptyUnavailable,
  readUser,
  runInPty,
  serveFixture,
  type ServeFixture,
} from "../helpers/cli-tools.js";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { GATEHOUSE_BIN, RNMU_BIN, SHARED_SECRET } from "../helpers/server.js";

const noPty = ptyUnavailable();
const ENTER = "\r";
const CTRL_C = "\u0003";
const me = userInfo().username;

let db: TestDatabase;
let fx: ServeFixture;

describe.skipIf(noPty !== null)(`on a terminal${noPty ? ` (skipped: ${noPty})` : ""}`, () => {
  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    fx = await serveFixture(db);
  });
  afterAll(() => fx.stop());

  const uid = (localpart: string) => `@${localpart}:localhost`;

  it("asks for localpart, password twice and admin, in Synapse's words; the password is never shown", async () => {
    const password = "Sekr1t-Pa55word";
    const r = await runInPty(
      RNMU_BIN,
      ["-k", SHARED_SECRET, fx.url],
      [
        { expect: `New user localpart [${me}]: `, send: "Alice" + ENTER },
        { expect: "Password: ", send: password + ENTER },
        { expect: "Confirm password: ", send: password + ENTER },
        { expect: "Make admin [no]: ", send: "yes" + ENTER },
      ],
    );
    expect(r.failedStep, r.text).toBeNull();
    expect(r.code, r.text).toBe(0);
    // What the person at the terminal saw, line by line: their localpart and admin answer echoed, the password
    // lines empty.
    expect(r.text).toBe(
      `New user localpart [${me}]: Alice\n` +
        "Password: \n" +
        "Confirm password: \n" +
        "Make admin [no]: yes\n" +
        "Sending registration request...\n" +
        "Success!\n",
    );
    // Not echoed, not masked: neither the password nor any of its characters as a mask.
    expect(r.transcript).not.toContain(password);
    expect(r.transcript).not.toContain("*".repeat(password.length));
    expect(r.transcript).not.toContain("[input is masked]");
    const user = await readUser(db.config, uid("alice"));
    expect(user?.admin).toBe(true);
    expect(await passwordMatches(db.config, uid("alice"), password)).toBe(true);
  });

  it("'Y' at 'Make admin [no]: ' is not yes: the check is case-sensitive", async () => {
    const r = await runInPty(
      RNMU_BIN,
      ["-k", SHARED_SECRET, "-u", "capital", fx.url],
      [
        { expect: "Password: ", send: "pw" + ENTER },
        { expect: "Confirm password: ", send: "pw" + ENTER },
        { expect: "Make admin [no]: ", send: "Y" + ENTER },
      ],
    );
    expect(r.code, r.text).toBe(0);
    expect(r.text).toContain("Success!");
    expect((await readUser(db.config, uid("capital")))?.admin).toBe(false);
  });

  it("Enter alone at 'Make admin [no]: ' means no", async () => {
    const r = await runInPty(
      RNMU_BIN,
      ["-k", SHARED_SECRET, "-u", "defaultno", "-p", "pw", fx.url],
      [{ expect: "Make admin [no]: ", send: ENTER }],
    );
    expect(r.code, r.text).toBe(0);
    expect((await readUser(db.config, uid("defaultno")))?.admin).toBe(false);
  });

  it("Enter alone at the localpart prompt takes the login name in brackets", async () => {
    const r = await runInPty(
      RNMU_BIN,
      ["-k", SHARED_SECRET, "-p", "pw", "--no-admin", fx.url],
      [{ expect: `New user localpart [${me}]: `, send: ENTER }],
    );
    expect(r.code, r.text).toBe(0);
    expect(await readUser(db.config, uid(me.toLowerCase()))).not.toBeNull();
  });

  it("a different confirmation: 'Passwords do not match', exit 1, nothing created, admin not asked", async () => {
    const r = await runInPty(
      RNMU_BIN,
      ["-k", SHARED_SECRET, "-u", "mismatch", fx.url],
      [
        { expect: "Password: ", send: "first" + ENTER },
        { expect: "Confirm password: ", send: "second" + ENTER },
      ],
    );
    expect(r.code, r.text).toBe(1);
    expect(r.text).toBe("Password: \nConfirm password: \nPasswords do not match\n");
    expect(await readUser(db.config, uid("mismatch"))).toBeNull();
  });

  it("a blank password: 'Password cannot be blank.', exit 1, no confirmation asked", async () => {
    const r = await runInPty(
      RNMU_BIN,
      ["-k", SHARED_SECRET, "-u", "blank", fx.url],
      [{ expect: "Password: ", send: ENTER }],
    );
    expect(r.code, r.text).toBe(1);
    expect(r.text).toBe("Password: \nPassword cannot be blank.\n");
    expect(await readUser(db.config, uid("blank"))).toBeNull();
  });

  it("Ctrl-C at the localpart prompt stops the command: exit 130, no further question, nothing created", async () => {
    const r = await runInPty(
      RNMU_BIN,
      ["-k", SHARED_SECRET, "-p", "pw", fx.url],
      [{ expect: `New user localpart [${me}]: `, send: CTRL_C }],
    );
    expect(r.timedOut, r.text).toBe(false);
    expect(r.code, r.text).toBe(130);
    expect(r.text).not.toContain("Make admin");
    // Before the fix it went on with the default localpart and registered it.
    expect(r.text).not.toContain("Sending registration request");
    expect(r.text).toContain("Aborted.");
  });

  it("Ctrl-C at the password prompt stops the command too", async () => {
    const r = await runInPty(
      RNMU_BIN,
      ["-k", SHARED_SECRET, "-u", "interrupted", fx.url],
      [{ expect: "Password: ", send: CTRL_C }],
    );
    expect(r.code, r.text).toBe(130);
    expect(r.text).not.toContain("Confirm password");
    expect(r.text).not.toContain("Password cannot be blank");
    expect(await readUser(db.config, uid("interrupted"))).toBeNull();
  });

  it("with -u, -p and -a nothing is asked", async () => {
    const r = await runInPty(RNMU_BIN, ["-k", SHARED_SECRET, "-u", "noprompts", "-p", "pw", "-a", fx.url], []);
    expect(r.code, r.text).toBe(0);
    expect(r.text).not.toMatch(/New user localpart|Password:|Make admin/);
    expect(r.text).toContain("Sending registration request...\nSuccess!\n");
  });

  it("--no-input on a terminal asks nothing: a missing password is an error", async () => {
    const r = await runInPty(RNMU_BIN, ["-k", SHARED_SECRET, "-u", "noinput", "--no-input", fx.url], []);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    expect(r.text).not.toMatch(/Password:|Make admin/);
    expect(r.text).toContain("--no-input needs a password");
  });

  it("gatehouse register-user prompts the same way", async () => {
    const r = await runInPty(
      GATEHOUSE_BIN,
      ["register-user", "-k", SHARED_SECRET, "-u", "viagatehouse", fx.url],
      [
        { expect: "Password: ", send: "pw2" + ENTER },
        { expect: "Confirm password: ", send: "pw2" + ENTER },
        { expect: "Make admin [no]: ", send: "no" + ENTER },
      ],
    );
    expect(r.code, r.text).toBe(0);
    expect(r.text).toBe(
      "Password: \nConfirm password: \nMake admin [no]: no\nSending registration request...\nSuccess!\n",
    );
    expect(r.transcript).not.toContain("pw2");
  });
});
