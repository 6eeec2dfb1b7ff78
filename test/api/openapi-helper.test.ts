/**
 * The spec-response validator itself (test/helpers/openapi.ts): it must fail on wrong shapes, pass on right ones,
 * find operations under every prefix we serve, and compile every response schema the spec has.
 */
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { createTestDatabase } from "../helpers/databases.js";
import {
  MATRIX_FORMATS,
  SPEC_DIR,
  SpecMismatchError,
  candidatePaths,
  expectSpecResponse,
  findOperation,
  specCall,
} from "../helpers/openapi.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const LOGIN = "/_matrix/client/v3/login";
const GOOD_LOGIN = {
  user_id: "@alice:localhost",
  access_token: "syt_YWxpY2U_abcdefghijklmnopqrst_1TMI8I",
  home_server: "localhost",
  device_id: "QWERTYUIOP",
};

async function mismatch(method: string, path: string, status: number, body: unknown): Promise<string> {
  try {
    await expectSpecResponse(method, path, status, body);
  } catch (err) {
    expect(err).toBeInstanceOf(SpecMismatchError);
    return (err as Error).message;
  }
  throw new Error(`expected ${method} ${path} ${status} ${JSON.stringify(body)} to be rejected`);
}

describe("finding the operation", () => {
  it("reads r0, unstable and api/v1 as v3, and finds v1-only endpoints", () => {
    for (const v of ["r0", "v3", "unstable", "api/v1"]) {
      expect(findOperation("POST", `/_matrix/client/${v}/login`)?.template).toBe(LOGIN);
    }
    expect(findOperation("GET", "/_matrix/client/v1/register/m.login.registration_token/validity?token=x")?.file).toBe(
      "registration_tokens.yaml",
    );
    expect(findOperation("POST", "/_matrix/client/v1/login/get_token")?.template).toBe(
      "/_matrix/client/v1/login/get_token",
    );
    expect(
      findOperation(
        "GET",
        "/_matrix/client/unstable/org.matrix.msc3231/register/org.matrix.msc3231.login.registration_token/validity",
      )?.file,
    ).toBe("registration_tokens.yaml");
    expect(candidatePaths("/_matrix/client/r0/refresh")).toEqual([
      "/_matrix/client/v3/refresh",
      "/_matrix/client/v1/refresh",
    ]);
  });

  it("uses each file's server base path and the path templates", () => {
    expect(findOperation("GET", "/_matrix/client/versions")?.file).toBe("versions.yaml");
    expect(findOperation("GET", "/.well-known/matrix/client")?.file).toBe("wellknown.yaml");
    expect(findOperation("GET", "/_matrix/client/v3/profile/%40alice%3Alocalhost")?.template).toBe(
      "/_matrix/client/v3/profile/{userId}",
    );
    expect(findOperation("GET", "/_matrix/client/r0/profile/@alice:localhost/displayname")?.template).toBe(
      "/_matrix/client/v3/profile/{userId}/{keyName}",
    );
    // Method matters.
    expect(findOperation("DELETE", "/_matrix/client/v3/login")).toBeNull();
  });
});

describe("rejecting wrong shapes", () => {
  it("a login response without access_token", async () => {
    const { access_token: _dropped, ...body } = GOOD_LOGIN;
    const msg = await mismatch("POST", LOGIN, 200, body);
    expect(msg).toContain("POST /_matrix/client/v3/login → 200");
    expect(msg).toContain("login.yaml");
    expect(msg).toContain("must have required property 'access_token'");
  });

  it("a versions response whose versions is a string", async () => {
    const msg = await mismatch("GET", "/_matrix/client/versions", 200, { versions: "v1.1" });
    expect(msg).toMatch(/\/versions must be array/);
  });

  it("a user ID that is not one (the spec's mx-user-id format)", async () => {
    const msg = await mismatch("POST", "/_matrix/client/r0/login", 200, { ...GOOD_LOGIN, user_id: "alice" });
    expect(msg).toContain('/user_id must match format "mx-user-id"');
  });

  it("a UIA 401 without flows, and one whose flows lack stages", async () => {
    await mismatch("POST", "/_matrix/client/v3/register", 401, { session: "abc", params: {} });
    await mismatch("POST", "/_matrix/client/v3/register", 401, { session: "abc", flows: [{}], params: {} });
  });

  it("a 429 whose retry_after_ms is not an integer", async () => {
    const msg = await mismatch("POST", LOGIN, 429, {
      errcode: "M_LIMIT_EXCEEDED",
      error: "Too Many Requests",
      retry_after_ms: "soon",
    });
    expect(msg).toContain("retry_after_ms");
  });

  it("an error status the operation does not document must still be a standard error body", async () => {
    await expectSpecResponse("POST", "/_matrix/client/v3/refresh", 403, { errcode: "M_FORBIDDEN", error: "no" });
    const msg = await mismatch("POST", "/_matrix/client/v3/refresh", 418, { error: "no errcode" });
    expect(msg).toContain("must have required property 'errcode'");
  });

  it("a 401 access-token refusal is a standard error even where the 401 schema is UIA; other 401s are not", async () => {
    const path = "/_matrix/client/v1/login/get_token";
    await expectSpecResponse("POST", path, 401, { errcode: "M_MISSING_TOKEN", error: "Missing access token" });
    await expectSpecResponse("POST", path, 401, {
      errcode: "M_UNKNOWN_TOKEN",
      error: "Unrecognised access token",
      soft_logout: false,
    });
    await mismatch("POST", path, 401, { errcode: "M_UNKNOWN_TOKEN" });
    const msg = await mismatch("POST", path, 401, { errcode: "M_FORBIDDEN", error: "Invalid password" });
    expect(msg).toContain("must have required property 'flows'");
  });

  it("a success status the operation does not document", async () => {
    const msg = await mismatch("GET", "/_matrix/client/versions", 201, { versions: [] });
    expect(msg).toContain("documents no 201 response");
  });

  it("a path the spec does not have, unless it is on the non-spec list or answered 404 M_UNRECOGNIZED", async () => {
    const msg = await mismatch("GET", "/_matrix/client/v3/not_a_thing", 200, {});
    expect(msg).toContain("no operation in the Matrix spec matches");
    await expectSpecResponse("GET", "/_matrix/client/v3/not_a_thing", 404, {
      errcode: "M_UNRECOGNIZED",
      error: "Unrecognized request",
    });
    await expectSpecResponse("GET", "/_synapse/admin/v1/register", 200, { nonce: "x" });
    await expectSpecResponse("GET", "/_matrix/client/v3/password_policy", 200, {});
  });
});

describe("accepting right shapes", () => {
  it("a full login response, under every prefix", async () => {
    const body = {
      ...GOOD_LOGIN,
      expires_in_ms: 300000,
      refresh_token: "syr_x",
      well_known: { "m.homeserver": { base_url: "https://hs.example/" } },
    };
    for (const v of ["r0", "v3", "unstable", "api/v1"])
      await expectSpecResponse("POST", `/_matrix/client/${v}/login`, 200, body);
  });

  it("a UIA 401 and the registration 200", async () => {
    await expectSpecResponse("POST", "/_matrix/client/r0/register", 401, {
      session: "abcdefghijklmnopqrstuvwx",
      flows: [{ stages: ["m.login.registration_token", "m.login.dummy"] }],
      params: {},
      completed: ["m.login.registration_token"],
      errcode: "M_UNAUTHORIZED",
      error: "Invalid registration token",
    });
    await expectSpecResponse("POST", "/_matrix/client/v3/register", 200, {
      user_id: "@kermit:localhost",
      home_server: "localhost",
    });
  });

  it("the spec's own string formats", () => {
    const ok: Record<string, string[]> = {
      "mx-user-id": ["@alice:localhost", "@a.b=c/d+e:example.org:8448", "@x:[::1]:8448"],
      "mx-room-id": ["!abc:localhost", "!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM"],
      "mx-event-id": ["$abc:localhost", "$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk"],
      "mx-server-name": ["localhost", "matrix.org:8448", "[1234:5678::abcd]", "127.0.0.1:8008"],
      "mx-mxc-uri": ["mxc://localhost/AQwafuaFswefuhsfAFAgsw"],
      "mx-unpadded-base64": ["", "YWJj", "YWI", "3+/Q"],
    };
    const bad: Record<string, string[]> = {
      "mx-user-id": ["alice", "@alice", "@ali ce:localhost", "@:localhost"],
      "mx-room-id": ["abc:localhost", "!"],
      "mx-event-id": ["abc", "$"],
      "mx-server-name": ["local host", "example.org:", "https://example.org"],
      "mx-mxc-uri": ["https://localhost/abc", "mxc://localhost/", "mxc://localhost/a/b"],
      "mx-unpadded-base64": ["YWJj=", "YW==", "Y", "a_b-"],
    };
    for (const [format, values] of Object.entries(ok)) {
      for (const v of values) expect(MATRIX_FORMATS[format]!.test(v), `${format} ${v}`).toBe(true);
    }
    for (const [format, values] of Object.entries(bad)) {
      for (const v of values) expect(MATRIX_FORMATS[format]!.test(v), `${format} ${v}`).toBe(false);
    }
  });
});

describe("the whole spec", () => {
  it("every documented response of every client-server file resolves and compiles", async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const file of readdirSync(SPEC_DIR).filter((f) => f.endsWith(".yaml"))) {
      const doc = parseYaml(readFileSync(SPEC_DIR + file, "utf8")) as {
        servers?: { variables?: { basePath?: { default?: string } } }[];
        paths?: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
      };
      const base = doc.servers?.[0]?.variables?.basePath?.default ?? "";
      for (const [path, item] of Object.entries(doc.paths ?? {})) {
        for (const [method, op] of Object.entries(item)) {
          for (const status of Object.keys(op.responses ?? {})) {
            const concrete = (base + path).replace(/\{[^}]+\}/g, "x");
            checked++;
            // A symbol matches no schema: every response with a schema must be reached, compiled and fail.
            try {
              await expectSpecResponse(
                method,
                concrete,
                status === "default" ? 599 : Number(status),
                Symbol("no body"),
              );
            } catch (err) {
              if (/does not match|documents no JSON|not a standard error/.test(String(err))) continue;
              problems.push(`${file} ${method} ${path} ${status}: ${String(err).slice(0, 300)}`);
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
    expect(problems).toEqual([]);
  });
});

describe("specCall against a running server", () => {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(await createTestDatabase("sqlite"));
  });
  afterAll(() => server?.close());

  it("validates real responses and returns them", async () => {
    const url = server!.url;
    const v = await specCall<{ versions: string[] }>(url, "GET", "/_matrix/client/versions");
    expect(v.status).toBe(200);
    expect(v.body.versions.length).toBeGreaterThan(0);
    const flows = await specCall(url, "GET", "/_matrix/client/r0/login");
    expect(flows.status).toBe(200);
    const bad = await specCall(url, "POST", "/_matrix/client/v3/login", { json: { type: "m.login.password" } });
    expect(bad.status).toBe(400);
  });
});
