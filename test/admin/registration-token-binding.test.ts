/**
 * Registration tokens bound to one person (Gatehouse's `bound_username` and `bound_email`), on both databases: how
 * the admin API takes and shows them, and how `POST /register` holds a sign-up to them, step by step as a client
 * goes through User-Interactive Auth.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../helpers/databases.js";
import { call, type HttpResult } from "../helpers/http.js";
import { closeAll, startWebFixture, type WebFixture } from "../web/support.js";

const TOKENS = "/_synapse/admin/v1/registration_tokens";
const REGISTER = "/_matrix/client/v3/register";
const PASSWORD = "a fine password 1";

forEachDatabase((kind) => {
  let fx: WebFixture;
  beforeAll(async () => {
    fx = await startWebFixture(kind);
  });
  afterAll(() => closeAll(fx));

  const create = (body: Record<string, unknown>) =>
    call(fx.url, "POST", `${TOKENS}/new`, { token: fx.adminToken, json: body });
  const counts = async (token: string) => fx.admin("GET", `${TOKENS}/${token}`);
  const register = (json: unknown) => call(fx.url, "POST", REGISTER, { json });

  /** First request (username, password) then the token stage; answers the session and the token stage's reply. */
  async function throughToken(username: string | null, token: string): Promise<{ session: string; r: HttpResult }> {
    const first = await register({
      ...(username === null ? {} : { username }),
      password: PASSWORD,
      inhibit_login: true,
    });
    expect(first.status, first.text).toBe(401);
    const session = first.body.session as string;
    const r = await register({ auth: { type: "m.login.registration_token", token, session } });
    return { session, r };
  }

  describe("in the admin API", () => {
    it("are taken on creation, normalised, shown, audited, and never changed afterwards", async () => {
      const r = await create({
        token: "for-noor",
        bound_username: "@Noor:localhost",
        bound_email: " Noor@Example.NET ",
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({
        token: "for-noor",
        uses_allowed: null,
        pending: 0,
        completed: 0,
        expiry_time: null,
        bound_username: "noor",
        bound_email: "noor@example.net",
      });
      const listed = (await fx.admin("GET", TOKENS)).registration_tokens as Record<string, unknown>[];
      expect(listed.find((t) => t.token === "for-noor")).toEqual(r.body);
      const audit = (await fx.admin("GET", "/_gatehouse/admin/v1/audit?target=for-noor")).entries as {
        after: unknown;
      }[];
      expect(audit[0]!.after).toEqual({
        uses_allowed: null,
        expiry_time: null,
        bound_username: "noor",
        bound_email: "noor@example.net",
      });
      // PUT reads uses_allowed and expiry_time only, as Synapse's does: an invite cannot be redirected.
      const put = await call(fx.url, "PUT", `${TOKENS}/for-noor`, {
        token: fx.adminToken,
        json: { bound_username: "mallory", uses_allowed: 3 },
      });
      expect(put.body).toMatchObject({ bound_username: "noor", uses_allowed: 3 });
    });

    it("leave an unbound token's answer exactly Synapse's", async () => {
      const r = await create({ token: "plain" });
      expect(Object.keys(r.body).sort()).toEqual(["completed", "expiry_time", "pending", "token", "uses_allowed"]);
    });

    it("refuse a name no account could have and an address that is not one", async () => {
      const badName = await create({ bound_username: "two words" });
      expect(badName.status).toBe(400);
      expect(badName.body.errcode).toBe("M_INVALID_USERNAME");
      const notString = await create({ bound_username: 7 });
      expect(notString.body).toEqual({ errcode: "M_INVALID_PARAM", error: "bound_username must be a string or null" });
      const badEmail = await create({ bound_email: "nobody" });
      expect(badEmail.body).toEqual({ errcode: "M_INVALID_PARAM", error: "bound_email must be an e-mail address" });
      const tokens = (await fx.admin("GET", TOKENS)).registration_tokens as unknown[];
      expect(tokens).toHaveLength(2);
    });
  });

  describe("in POST /register", () => {
    it("refuses another username at the token stage, before a use is reserved", async () => {
      await create({ token: "only-sami", bound_username: "sami", uses_allowed: 1 });
      const { r } = await throughToken("mallory", "only-sami");
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({
        errcode: "M_FORBIDDEN",
        error: "This registration token is for the username 'sami' only",
      });
      expect(await counts("only-sami")).toMatchObject({ pending: 0, completed: 0 });
    });

    it("lets the bound username through, and gives it to a sign-up that names none", async () => {
      const { session, r } = await throughToken("sami", "only-sami");
      expect(r.status).toBe(401);
      expect(r.body.completed).toEqual(["m.login.registration_token"]);
      const done = await register({ auth: { type: "m.login.dummy", session } });
      expect(done.status, done.text).toBe(200);
      expect(done.body.user_id).toBe("@sami:localhost");
      expect(await counts("only-sami")).toMatchObject({ pending: 0, completed: 1 });

      await create({ token: "for-rosa", bound_username: "rosa" });
      const nameless = await throughToken(null, "for-rosa");
      const made = await register({ auth: { type: "m.login.dummy", session: nameless.session } });
      expect(made.body.user_id).toBe("@rosa:localhost");
    });

    it("refuses a username changed after the token stage, at the end, and makes no account", async () => {
      await create({ token: "for-tess", bound_username: "tess" });
      const { session, r } = await throughToken("tess", "for-tess");
      expect(r.body.completed).toEqual(["m.login.registration_token"]);
      const changed = await register({ username: "notess", auth: { type: "m.login.dummy", session } });
      expect(changed.status).toBe(403);
      expect(changed.body).toEqual({
        errcode: "M_FORBIDDEN",
        error: "This registration token is for the username 'tess' only",
      });
      const lookup = await call(fx.url, "GET", "/_synapse/admin/v2/users/@notess:localhost", { token: fx.adminToken });
      expect(lookup.status).toBe(404);
      expect(await counts("for-tess")).toMatchObject({ completed: 0 });
    });

    it("gives the account the address an e-mail-bound invite was sent to", async () => {
      await create({ token: "mailed", bound_email: "Maya@Example.net" });
      const { session } = await throughToken("maya", "mailed");
      const done = await register({ auth: { type: "m.login.dummy", session } });
      expect(done.status, done.text).toBe(200);
      const user = await fx.admin("GET", "/_synapse/admin/v2/users/@maya:localhost");
      expect(user.threepids).toEqual([expect.objectContaining({ medium: "email", address: "maya@example.net" })]);
    });

    it("makes no account when the invited address belongs to another account already", async () => {
      await create({ token: "mailed-again", bound_email: "maya@example.net" });
      const { session } = await throughToken("maya2", "mailed-again");
      const refused = await register({ auth: { type: "m.login.dummy", session } });
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({ errcode: "M_THREEPID_IN_USE", error: "email is already in use" });
      const lookup = await call(fx.url, "GET", "/_synapse/admin/v2/users/@maya2:localhost", { token: fx.adminToken });
      expect(lookup.status).toBe(404);
      expect(await counts("mailed-again")).toMatchObject({ completed: 0 });
    });
  });
});
