/**
 * matrix-js-sdk (the SDK under Element and Cinny), unmodified, against Gatehouse through the validating proxy:
 * sign-up through User-Interactive Auth (dummy stage, registration token), login, whoami, devices, password change,
 * deactivation, and the SDK's own sync loop, which must long-poll rather than spin. Every response the SDK gets is
 * checked against the Matrix spec by the proxy. No crypto: `initRustCrypto` is never called.
 */
import {
  ClientEvent,
  createClient,
  EventType,
  MatrixError,
  SyncState,
  type LoginResponse,
  type MatrixClient,
  type RegisterResponse,
} from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPEN_REGISTRATION } from "../api/client-support.js";
import { forEachDatabase } from "../helpers/databases.js";
import {
  CLIENT_TEST_TIMEOUT,
  expectNoSpecMismatches,
  sleep,
  startProxiedServer,
  type ProxiedServer,
} from "./support.js";

// The SDK logs every request and sync state at debug level through loglevel (a root logger its index does not
// export). What it says at higher levels here is expected: "Unable to refresh token" (an error) each time a test
// revokes a token on purpose, "Adding default global … push rule" (a warning) for MSC rule IDs it knows only by
// their unstable names. Failures surface as rejected calls and SyncState.Error instead; to see the SDK's own log,
// run with GATEHOUSE_TEST_SDK_LOG=debug (or info, warn, error).
(sdkLogger as unknown as { setLevel(level: string, persist?: boolean): void }).setLevel(
  process.env.GATEHOUSE_TEST_SDK_LOG ?? "silent",
  false,
);

const PASSWORD = "correct horse battery staple";

interface UiaBody {
  session: string;
  flows: { stages: string[] }[];
  params: Record<string, unknown>;
  completed?: string[];
  errcode?: string;
  error?: string;
}

/** A client with no credentials, as a sign-up or login screen has. */
function anonymous(url: string): MatrixClient {
  return createClient({ baseUrl: url, logger: sdkLogger });
}

function loggedIn(url: string, r: { user_id: string; access_token?: string; device_id?: string }): MatrixClient {
  return createClient({
    baseUrl: url,
    userId: r.user_id,
    accessToken: r.access_token,
    deviceId: r.device_id,
    logger: sdkLogger,
  });
}

/** The SDK's rejection of `p`: a MatrixError with this status (and errcode, when given). */
async function matrixError(p: Promise<unknown>, status: number, errcode?: string): Promise<MatrixError> {
  const outcome = await p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  if (outcome.ok) throw new Error(`expected an error ${status}, got success: ${JSON.stringify(outcome.v)}`);
  expect(outcome.e).toBeInstanceOf(MatrixError);
  const e = outcome.e as MatrixError;
  expect({ status: e.httpStatus, errcode: errcode === undefined ? undefined : e.errcode }, e.message).toEqual({
    status,
    errcode,
  });
  return e;
}

/** The 401 a UIA endpoint answers with when it wants (more) authentication. */
async function uiaChallenge(p: Promise<unknown>): Promise<UiaBody> {
  const e = await matrixError(p, 401);
  const body = e.data as unknown as UiaBody;
  expect(typeof body.session, JSON.stringify(body)).toBe("string");
  expect(Array.isArray(body.flows), JSON.stringify(body)).toBe(true);
  return body;
}

/** The whole UIA sign-up with the dummy stage, the way the spec describes it: ask, then answer with the session. */
async function signUp(url: string, username: string, password = PASSWORD): Promise<RegisterResponse> {
  const client = anonymous(url);
  const challenge = await uiaChallenge(client.registerRequest({ username, password }));
  return client.register(username, password, challenge.session, { type: "m.login.dummy" });
}

/** Element's login: `loginRequest` with an `m.id.user` identifier, then a client of its own for the new session. */
async function logIn(
  url: string,
  user: string,
  password = PASSWORD,
  deviceName?: string,
): Promise<{ client: MatrixClient; login: LoginResponse }> {
  const login = await anonymous(url).loginRequest({
    type: "m.login.password",
    identifier: { type: "m.id.user", user },
    password,
    ...(deviceName === undefined ? {} : { initial_device_display_name: deviceName }),
  });
  return { client: loggedIn(url, login), login };
}

/** The server's answer to a wrong password, a deactivated account or an unknown user alike. */
async function loginRefused(url: string, user: string, password: string): Promise<void> {
  await matrixError(
    anonymous(url).loginRequest({ type: "m.login.password", identifier: { type: "m.id.user", user }, password }),
    403,
    "M_FORBIDDEN",
  );
}

function passwordAuth(userId: string, password: string, session?: string): Record<string, unknown> {
  return {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: userId },
    password,
    ...(session === undefined ? {} : { session }),
  };
}

forEachDatabase((kind) => {
  describe("open registration", () => {
    let hs: ProxiedServer;
    beforeAll(async () => {
      hs = await startProxiedServer(kind, OPEN_REGISTRATION);
    }, CLIENT_TEST_TIMEOUT);
    afterAll(() => (hs as ProxiedServer | undefined)?.close(), CLIENT_TEST_TIMEOUT);

    it(
      "registers through UIA with the dummy stage",
      async () => {
        const client = anonymous(hs.url);
        expect(await client.isUsernameAvailable("alice")).toBe(true);

        const challenge = await uiaChallenge(client.registerRequest({ username: "alice", password: PASSWORD }));
        expect(challenge.flows).toContainEqual({ stages: ["m.login.dummy"] });
        expect(challenge.completed ?? []).toEqual([]);

        const r = await client.registerRequest({
          username: "alice",
          password: PASSWORD,
          initial_device_display_name: "SDK sign-up",
          auth: { type: "m.login.dummy", session: challenge.session },
        });
        expect(r.user_id).toBe("@alice:localhost");
        expect(typeof r.access_token).toBe("string");
        expect(typeof r.device_id).toBe("string");

        const alice = loggedIn(hs.url, r);
        expect(await alice.whoami()).toMatchObject({ user_id: "@alice:localhost", device_id: r.device_id });
        expect((await alice.getDevice(r.device_id!)).display_name).toBe("SDK sign-up");

        // Taken now: the server's 400 M_USER_IN_USE is what the SDK turns into `false`.
        expect(await client.isUsernameAvailable("alice")).toBe(false);
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "logs in with a password, reads whoami, renames a device and deletes one through UIA",
      async () => {
        const reg = await signUp(hs.url, "bob");
        expect(reg.user_id).toBe("@bob:localhost");

        // The SDK's loginWithPassword, deprecated but still in wide use: the legacy `user` field, and the client
        // takes the new access token itself.
        const laptop = anonymous(hs.url);
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- the old API is what is being exercised
        const l1 = await laptop.loginWithPassword("bob", PASSWORD);
        expect(l1.user_id).toBe("@bob:localhost");
        expect(await laptop.whoami()).toMatchObject({ user_id: "@bob:localhost", device_id: l1.device_id });

        // Element's way: loginRequest with an m.id.user identifier (the full user ID here) and a device name.
        const { client: phone, login: l2 } = await logIn(hs.url, "@bob:localhost", PASSWORD, "Phone");
        expect(l2.device_id).not.toBe(l1.device_id);

        // A wrong password is refused as Synapse refuses it.
        await loginRefused(hs.url, "bob", "wrong password");

        // Rename.
        expect(await laptop.setDeviceDetails(l1.device_id, { display_name: "Laptop (renamed)" })).toEqual({});
        expect((await phone.getDevice(l1.device_id)).display_name).toBe("Laptop (renamed)");
        const { devices } = await phone.getDevices();
        expect(devices.map((d) => d.device_id).sort()).toEqual([reg.device_id, l1.device_id, l2.device_id].sort());
        expect(devices.find((d) => d.device_id === l2.device_id)?.display_name).toBe("Phone");

        // Delete the laptop from the phone: the first request is the UIA challenge, the second carries the password.
        const challenge = await uiaChallenge(phone.deleteDevice(l1.device_id));
        expect(challenge.flows).toContainEqual({ stages: ["m.login.password"] });
        expect(
          await phone.deleteDevice(l1.device_id, passwordAuth("@bob:localhost", PASSWORD, challenge.session)),
        ).toEqual({});
        await matrixError(laptop.whoami(), 401, "M_UNKNOWN_TOKEN");
        expect((await phone.getDevices()).devices.map((d) => d.device_id)).not.toContain(l1.device_id);
        expect(await phone.whoami()).toMatchObject({ user_id: "@bob:localhost", device_id: l2.device_id });

        // Element asks for TURN servers when it starts; none is configured, so `{}` as from Synapse, which the
        // spec does not describe (the proxy's SPEC_EXCEPTIONS excuses exactly this body).
        expect(await phone.turnServer()).toEqual({});
        await expectNoSpecMismatches(hs.proxy);
        expect(hs.proxy.excused.filter((e) => e.includes("/voip/turnServer"))).toHaveLength(1);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "changes the password (logging out the other devices) and the old one stops working",
      async () => {
        await signUp(hs.url, "carol");
        const { client: first } = await logIn(hs.url, "carol");
        const { client: second } = await logIn(hs.url, "carol");
        const newPassword = "a brand new passphrase";

        // Through the UIA exchange: ask first, then answer with the session and the current password.
        const challenge = await uiaChallenge(first.setPassword({}, newPassword, true));
        expect(challenge.flows).toContainEqual({ stages: ["m.login.password"] });
        expect(
          await first.setPassword(passwordAuth("@carol:localhost", PASSWORD, challenge.session), newPassword, true),
        ).toEqual({});

        // The requester stays logged in; the other device is gone.
        expect((await first.whoami()).user_id).toBe("@carol:localhost");
        await matrixError(second.whoami(), 401, "M_UNKNOWN_TOKEN");
        await loginRefused(hs.url, "carol", PASSWORD);
        const { client: again, login } = await logIn(hs.url, "carol", newPassword);
        expect(login.user_id).toBe("@carol:localhost");

        // Element's settings page sends the password stage straight away, without a session: one request.
        const newer = "yet another passphrase";
        expect(await again.setPassword(passwordAuth("@carol:localhost", newPassword), newer, false)).toEqual({});
        // logout_devices false: the first device survives this time.
        expect((await first.whoami()).user_id).toBe("@carol:localhost");
        expect((await logIn(hs.url, "carol", newer)).login.user_id).toBe("@carol:localhost");
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "deactivates the account through UIA, after which login fails",
      async () => {
        await signUp(hs.url, "dave");
        const { client: dave } = await logIn(hs.url, "dave");

        const challenge = await uiaChallenge(dave.deactivateAccount());
        expect(challenge.flows).toContainEqual({ stages: ["m.login.password"] });
        // A wrong password keeps the session open and says why, as the spec's UIA error body.
        const wrong = await uiaChallenge(
          dave.deactivateAccount(passwordAuth("@dave:localhost", "not it", challenge.session)),
        );
        expect(wrong).toMatchObject({ session: challenge.session, errcode: "M_FORBIDDEN" });

        const r = await dave.deactivateAccount(passwordAuth("@dave:localhost", PASSWORD, challenge.session), false);
        expect(r).toEqual({ id_server_unbind_result: "no-support" });
        await matrixError(dave.whoami(), 401, "M_UNKNOWN_TOKEN");
        await loginRefused(hs.url, "dave", PASSWORD);
        // The user ID stays taken.
        expect(await anonymous(hs.url).isUsernameAvailable("dave")).toBe(false);
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );

    it(
      "runs the SDK's sync loop: it reaches PREPARED, then long-polls instead of spinning",
      async () => {
        const reg = await signUp(hs.url, "erin");
        const client = loggedIn(hs.url, reg);
        const states: string[] = [];
        let syncError: unknown = null;
        const prepared = new Promise<void>((resolve, reject) => {
          client.on(ClientEvent.Sync, (state, _prev, data) => {
            states.push(state);
            if (state === SyncState.Prepared) resolve();
            if (state === SyncState.Error) {
              syncError = data?.error ?? state;
              reject(new Error(`sync error: ${String(data?.error)}`));
            }
          });
        });
        const syncs = () => hs.proxy.count("GET", /^\/_matrix\/client\/[^/]+\/sync$/);
        const before = syncs();
        try {
          await client.startClient({ initialSyncLimit: 1 });
          await prepared;
          expect(syncs()).toBeGreaterThan(before);

          // Let the SDK send its first incremental long-poll, then watch for ~5 s.
          await sleep(1000);
          const start = syncs();
          await sleep(5000);
          const during = syncs() - start;
          expect(during, `the SDK sent ${during} /sync requests in 5 s`).toBeLessThanOrEqual(3);
          const incremental = hs.proxy.requests.filter((r) => r.path.endsWith("/sync") && r.url.includes("since="));
          expect(incremental.length).toBeGreaterThan(0);
          expect(incremental.at(-1)!.url).toContain("timeout=30000");

          // The long-poll answers as soon as there is something new: setAccountData resolves on the sync's echo.
          const t0 = performance.now();
          const direct = { "@someone:localhost": ["!room:localhost"] };
          await client.setAccountData(EventType.Direct, direct);
          expect(performance.now() - t0).toBeLessThan(20_000);
          expect(client.getAccountData(EventType.Direct)?.getContent()).toEqual(direct);
          expect(syncError).toBeNull();
          expect(states).not.toContain(SyncState.Error);
        } finally {
          client.stopClient();
        }
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );
  });

  describe("registration with a token", () => {
    let hs: ProxiedServer;
    beforeAll(async () => {
      hs = await startProxiedServer(kind, { enable_registration: true, registration_requires_token: true });
    }, CLIENT_TEST_TIMEOUT);
    afterAll(() => (hs as ProxiedServer | undefined)?.close(), CLIENT_TEST_TIMEOUT);

    it(
      "completes m.login.registration_token then m.login.dummy, and a used-up token is refused",
      async () => {
        const token = "sdk-token-1";
        await hs.server.server.accounts.stores.registrationTokens.insert({
          token,
          usesAllowed: 1,
          expiryTime: null,
          createdTs: Date.now(),
        });
        const client = anonymous(hs.url);

        const challenge = await uiaChallenge(client.registerRequest({ username: "frank", password: PASSWORD }));
        expect(challenge.flows).toEqual([{ stages: ["m.login.registration_token", "m.login.dummy"] }]);

        const afterToken = await uiaChallenge(
          client.registerRequest({
            username: "frank",
            password: PASSWORD,
            auth: { type: "m.login.registration_token", token, session: challenge.session },
          }),
        );
        expect(afterToken.session).toBe(challenge.session);
        expect(afterToken.completed).toEqual(["m.login.registration_token"]);

        const r = await client.registerRequest({
          username: "frank",
          password: PASSWORD,
          auth: { type: "m.login.dummy", session: challenge.session },
        });
        expect(r.user_id).toBe("@frank:localhost");
        expect((await loggedIn(hs.url, r).whoami()).user_id).toBe("@frank:localhost");

        // The one use is gone: the token stage fails, inside the UIA body, and nothing is completed.
        const second = await uiaChallenge(client.registerRequest({ username: "grace", password: PASSWORD }));
        const refused = await uiaChallenge(
          client.registerRequest({
            username: "grace",
            password: PASSWORD,
            auth: { type: "m.login.registration_token", token, session: second.session },
          }),
        );
        expect(refused).toMatchObject({ session: second.session, errcode: "M_UNAUTHORIZED" });
        expect(refused.completed ?? []).toEqual([]);
        // Skipping the token stage does not work either.
        const skipped = await uiaChallenge(
          client.registerRequest({
            username: "grace",
            password: PASSWORD,
            auth: { type: "m.login.dummy", session: second.session },
          }),
        );
        expect(skipped.completed ?? []).not.toContain("m.login.registration_token");
        expect(await client.isUsernameAvailable("grace")).toBe(true);
        await expectNoSpecMismatches(hs.proxy);
      },
      CLIENT_TEST_TIMEOUT,
    );
  });
});
