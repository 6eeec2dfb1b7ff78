/**
 * LDAP log-in against a real slapd (test/helpers/slapd.ts), started once for the file: simple and search modes,
 * accounts made on first login and refreshed on later ones, Active Directory names, the search filter and the
 * escaping of what users type, a directory that is down or slow, UIA with the directory's password, and password
 * change turned off when passwords live in the directory.
 */
import { writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LdapProvider, escapeDnValue } from "../../src/auth-providers/ldap.js";
import type { LdapConfig } from "../../src/config/ldap-config.js";
import { loadConfig } from "../../src/config/load.js";
import { ConfigError, validateConfig, type RawConfig } from "../../src/config/validate.js";
import { createTestDatabase, forEachDatabase, tempDir, type DatabaseKind } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { specCall } from "../helpers/openapi.js";
import { registerShared } from "../helpers/register.js";
import { configFrom, rawConfigFor, startTestServer, writeConfigFile, type TestServer } from "../helpers/server.js";
import {
  freePort,
  LDAP_ADMIN_DN,
  LDAP_ADMIN_PASSWORD,
  LDAP_BASE,
  organizationalUnit,
  person,
  startSlapd,
  type Slapd,
} from "../helpers/slapd.js";

const PLENTY = { per_second: 1000, burst_count: 1000 };
const PEOPLE = `ou=people,${LDAP_BASE}`;

const SEED =
  organizationalUnit("people") +
  organizationalUnit("others") +
  person("people", "alice", "alice pw", { cn: "Alice Liddell", mail: "alice@example.test", employeeType: "matrix" }) +
  person("people", "bob", "bob pw", { cn: "Bob", mail: "bob@example.test", employeeType: "matrix" }) +
  // Outside the search filter: no employeeType.
  person("people", "carol", "carol pw", { cn: "Carol" }) +
  // Two entries with one uid: refused, whichever password.
  person("people", "twin", "twin pw", { mail: "twins@example.test", employeeType: "matrix" }) +
  person("others", "twin", "twin pw", { mail: "twins@example.test", employeeType: "matrix" }) +
  person("people", "erin", "erin pw", { cn: "Erin", employeeType: "matrix" }) +
  // Active Directory mode finds people by their user principal name; `mail` stands in for it here.
  person("people", "dave", "dave pw", { cn: "Dave", mail: "dave@corp.test", employeeType: "matrix" }) +
  person("people", "frank", "frank pw", { cn: "Frank", mail: "frank@example.test", employeeType: "matrix" });

let slapd: Slapd;

beforeAll(async () => {
  slapd = await startSlapd(SEED);
});

afterAll(async () => {
  await slapd.stop();
});

/** Synapse's `modules:` entry for the LDAP module, with this file's slapd. */
function ldapModule(config: Record<string, unknown>): RawConfig {
  return {
    modules: [
      {
        module: "ldap_auth_provider.LdapAuthProviderModule",
        config: {
          enabled: true,
          uri: slapd.url,
          base: PEOPLE,
          attributes: { uid: "uid", mail: "mail", name: "cn" },
          ...config,
        },
      },
    ],
  };
}

const SEARCH = {
  bind_dn: LDAP_ADMIN_DN,
  bind_password: LDAP_ADMIN_PASSWORD,
  base: LDAP_BASE,
  filter: "(employeeType=matrix)",
};

async function ldapServer(
  kind: DatabaseKind,
  config: Record<string, unknown>,
  more: RawConfig = {},
): Promise<TestServer> {
  const db = await createTestDatabase(kind);
  return startTestServer(db, {
    rc_login: { address: PLENTY, account: PLENTY, failed_attempts: PLENTY },
    ...ldapModule(config),
    ...more,
  });
}

function login(base: string, user: string, password: string) {
  return call<{ user_id: string; access_token: string; device_id: string; errcode?: string; error?: string }>(
    base,
    "POST",
    "/_matrix/client/v3/login",
    { json: { type: "m.login.password", identifier: { type: "m.id.user", user }, password } },
  );
}

async function displayName(s: TestServer, userId: string): Promise<string | null> {
  return (await s.server.accounts.stores.users.get(userId))?.displayname ?? null;
}

async function emails(s: TestServer, userId: string): Promise<string[]> {
  return (await s.server.accounts.stores.threepids.listForUser(userId)).map((t) => `${t.medium}:${t.address}`);
}

/** A provider over this file's slapd, for what the HTTP API cannot show (the log, the exact filter). */
function provider(config: Partial<LdapConfig>, log: string[] = []): LdapProvider {
  const full: LdapConfig = {
    uris: [slapd.url],
    start_tls: false,
    validate_cert: true,
    base: PEOPLE,
    attributes: { uid: "uid", mail: "mail", name: "cn" },
    mode: "simple",
    bind_dn: null,
    bind_password: null,
    filter: null,
    active_directory: false,
    default_domain: null,
    timeout_ms: 5_000,
    enable_registration: true,
    ...config,
  };
  return new LdapProvider(full, "localhost", (m) => log.push(m));
}

describe("escaping", () => {
  it("escapes DN values per RFC 4514", () => {
    expect(escapeDnValue("alice")).toBe("alice");
    expect(escapeDnValue('a,b+c"d\\e<f>g;h=i')).toBe('a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\=i');
    expect(escapeDnValue("#lead")).toBe("\\#lead");
    expect(escapeDnValue(" both ")).toBe("\\ both\\ ");
    expect(escapeDnValue("x\\ ")).toBe("x\\\\\\ ");
  });

  it("simple mode: a name holding a DN's syntax cannot bind as someone else", async () => {
    // Unescaped, `uid=alice,ou=people,dc=example,dc=test` is alice's own DN: the module would log this in as her.
    const p = provider({ base: LDAP_BASE });
    expect(await p.check("alice,ou=people", "alice pw")).toMatchObject({ kind: "rejected" });
    expect(await provider({}).check("alice", "alice pw")).toMatchObject({ kind: "accepted", localpart: "alice" });
  });

  it("search mode: the username is escaped in the filter per RFC 4515", async () => {
    const p = provider({ mode: "search", ...SEARCH });
    // Unescaped, `(uid=al*)` would find alice and bind as her.
    expect(await p.check("al*", "alice pw")).toMatchObject({ kind: "rejected", reason: "no entry matches" });
    expect(await p.check("*)(uid=alice", "alice pw")).toMatchObject({ kind: "rejected", reason: "no entry matches" });
    expect(await p.check("alice", "alice pw")).toMatchObject({ kind: "accepted", displayName: "Alice Liddell" });
  });

  it("refuses an empty password before any bind, and never logs a password", async () => {
    const log: string[] = [];
    // slapd would refuse the unauthenticated bind itself; the reason shows the check ran first.
    expect(await provider({}, log).check("alice", "")).toEqual({
      kind: "rejected",
      reason: "empty password (refused before any bind)",
    });
    await provider({}, log).check("alice", "not alice pw");
    expect(log.join("\n")).toContain("wrong password");
    expect(log.join("\n")).not.toContain("not alice pw");
  });
});

describe("TLS", () => {
  it("StartTLS and ldaps:// check the certificate unless validate_cert is false", async () => {
    // The test directory's certificate is self-signed: refused when checked, accepted when not.
    for (const tls of [{ start_tls: true }, { uris: [slapd.ldapsUrl] }]) {
      expect(await provider({ ...tls, validate_cert: false }).check("alice", "alice pw")).toMatchObject({
        kind: "accepted",
      });
      const log: string[] = [];
      expect(await provider({ ...tls, validate_cert: true }, log).check("alice", "alice pw")).toMatchObject({
        kind: "unavailable",
      });
      expect(log.join("\n")).toMatch(/certificate/i);
    }
  });
});

describe("simple mode", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await ldapServer("sqlite", {}, { password_config: { localdb_enabled: false } });
  });
  afterAll(async () => {
    await s.close();
  });

  it("logs a directory user in, creating the account with the typed name as display name", async () => {
    const r = await login(s.url, "Bob", "bob pw");
    expect(r.status).toBe(200);
    expect(r.body.user_id).toBe("@bob:localhost");
    // Simple mode reads no attributes: the module's display name is the name typed.
    expect(await displayName(s, "@bob:localhost")).toBe("Bob");
    const again = await login(s.url, "@bob:localhost", "bob pw");
    expect(again.body.user_id).toBe("@bob:localhost");
  });

  it("refuses a wrong password and an empty one with 403", async () => {
    for (const pw of ["wrong", ""]) {
      const r = await login(s.url, "bob", pw);
      expect(r.status).toBe(403);
      expect(r.body).toEqual({ errcode: "M_FORBIDDEN", error: "Invalid username or password" });
    }
  });

  it("offers m.login.password with the local database off, and turns password change off", async () => {
    const flows = await specCall<{ flows: { type: string }[] }>(s.url, "GET", "/_matrix/client/v3/login");
    expect(flows.body.flows.map((f) => f.type)).toContain("m.login.password");
    const { access_token: token } = (await login(s.url, "bob", "bob pw")).body;
    const caps = await specCall<{ capabilities: Record<string, { enabled: boolean }> }>(
      s.url,
      "GET",
      "/_matrix/client/v3/capabilities",
      { token },
    );
    expect(caps.body.capabilities["m.change_password"]).toEqual({ enabled: false });
    const change = await call(s.url, "POST", "/_matrix/client/v3/account/password", {
      token,
      json: { new_password: "a new one", auth: { type: "m.login.password", user: "bob", password: "bob pw" } },
    });
    expect(change.status).toBe(403);
    expect(change.body).toEqual({ errcode: "M_FORBIDDEN", error: "Password change disabled" });
  });

  it("UIA takes the directory's password (deleting a device)", async () => {
    const first = await login(s.url, "bob", "bob pw");
    const second = await login(s.url, "bob", "bob pw");
    const path = `/_matrix/client/v3/devices/${first.body.device_id}`;
    const ask = await call<{ session: string }>(s.url, "DELETE", path, { token: second.body.access_token, json: {} });
    expect(ask.status).toBe(401);
    const auth = {
      type: "m.login.password",
      identifier: { type: "m.id.user", user: "bob" },
      session: ask.body.session,
    };
    const wrong = await call(s.url, "DELETE", path, {
      token: second.body.access_token,
      json: { auth: { ...auth, password: "wrong" } },
    });
    expect(wrong.status).toBe(401);
    const done = await call(s.url, "DELETE", path, {
      token: second.body.access_token,
      json: { auth: { ...auth, password: "bob pw" } },
    });
    expect(done.status).toBe(200);
  });
});

describe("search mode", () => {
  forEachDatabase((kind) => {
    let s: TestServer;
    beforeAll(async () => {
      s = await ldapServer(kind, SEARCH);
    });
    afterAll(async () => {
      await s.close();
      // The refresh test changes alice's entry; the next database's run starts from the seed again.
      await slapd.replace(`uid=alice,${PEOPLE}`, { cn: "Alice Liddell", mail: "alice@example.test" });
    });

    it("creates the account on first login with the directory's name and e-mail, in the audit log", async () => {
      const r = await login(s.url, "Alice", "alice pw");
      expect(r.status).toBe(200);
      expect(r.body.user_id).toBe("@alice:localhost");
      expect(await displayName(s, "@alice:localhost")).toBe("Alice Liddell");
      expect(await emails(s, "@alice:localhost")).toEqual(["email:alice@example.test"]);
      const audit = await s.server.accounts.stores.adminAudit.list({
        actor: null,
        target: "@alice:localhost",
        action: "user.create",
        fromTs: null,
        toTs: null,
        beforeId: null,
        limit: 10,
      });
      expect(audit.entries).toHaveLength(1);
      expect(audit.entries[0]!.after).toMatchObject({ source: "ldap", displayname: "Alice Liddell" });
    });

    it("refreshes the display name and e-mail from the directory on a later login", async () => {
      await slapd.replace(`uid=alice,${PEOPLE}`, { cn: "Alice P. Liddell", mail: "alice.liddell@example.test" });
      const r = await login(s.url, "alice", "alice pw");
      expect(r.status).toBe(200);
      expect(await displayName(s, "@alice:localhost")).toBe("Alice P. Liddell");
      expect(await emails(s, "@alice:localhost")).toContain("email:alice.liddell@example.test");
      // The directory's earlier address went with the change: the account's directory address follows it.
      expect(await emails(s, "@alice:localhost")).toEqual(["email:alice.liddell@example.test"]);
      const profile = await call(s.url, "GET", "/_matrix/client/v3/profile/@alice:localhost/displayname", {
        token: r.body.access_token,
      });
      expect(profile.body).toEqual({ displayname: "Alice P. Liddell" });
    });

    it("replaces only the directory's address: the ones the user added stay, also when the directory drops its own", async () => {
      const { threepids } = s.server.accounts.stores;
      const now = Date.now();
      // As `POST /account/3pid/add` stores them: no source. One is the directory's next address.
      await threepids.add("@alice:localhost", {
        medium: "email",
        address: "alice@home.test",
        validatedAt: now,
        addedAt: now,
      });
      await threepids.add("@alice:localhost", {
        medium: "email",
        address: "al@example.test",
        validatedAt: now,
        addedAt: now,
      });
      await slapd.replace(`uid=alice,${PEOPLE}`, { mail: "al@example.test" });
      expect((await login(s.url, "alice", "alice pw")).status).toBe(200);
      expect(await emails(s, "@alice:localhost")).toEqual(["email:al@example.test", "email:alice@home.test"]);
      const sources = async () =>
        Object.fromEntries((await threepids.listForUser("@alice:localhost")).map((p) => [p.address, p.source]));
      expect(await sources()).toEqual({ "al@example.test": null, "alice@home.test": null });

      await slapd.replace(`uid=alice,${PEOPLE}`, { mail: "alice.p@example.test" });
      expect((await login(s.url, "alice", "alice pw")).status).toBe(200);
      expect(await sources()).toEqual({
        "al@example.test": null,
        "alice@home.test": null,
        "alice.p@example.test": "ldap",
      });

      // No address in the directory any more: its own goes, the user's stay.
      await slapd.replace(`uid=alice,${PEOPLE}`, { mail: [] });
      expect((await login(s.url, "alice", "alice pw")).status).toBe(200);
      expect(await emails(s, "@alice:localhost")).toEqual(["email:al@example.test", "email:alice@home.test"]);
    });

    it("logs in with the directory's e-mail address (m.id.thirdparty), creating the account as for a name", async () => {
      const byEmail = (address: string, password: string) =>
        call<{ user_id: string; errcode?: string }>(s.url, "POST", "/_matrix/client/v3/login", {
          json: {
            type: "m.login.password",
            identifier: { type: "m.id.thirdparty", medium: "email", address },
            password,
          },
        });
      // Frank has no account and the server has never seen his address: the directory finds him by it.
      const first = await byEmail("Frank@Example.test", "frank pw");
      expect(first.status, first.text).toBe(200);
      expect(first.body.user_id).toBe("@frank:localhost");
      expect(await displayName(s, "@frank:localhost")).toBe("Frank");
      expect(await emails(s, "@frank:localhost")).toEqual(["email:frank@example.test"]);
      expect((await byEmail("frank@example.test", "frank pw")).body.user_id).toBe("@frank:localhost");
      for (const [address, pw] of [
        ["frank@example.test", "wrong"],
        ["frank@example.test", ""],
        ["twins@example.test", "twin pw"],
        ["nobody@example.test", "x"],
        ["frank@example.tes*", "frank pw"],
      ] as const) {
        const r = await byEmail(address, pw);
        expect(r.status, `${address} ${pw}`).toBe(403);
      }
      expect(await s.server.accounts.stores.users.get("@twin:localhost")).toBeNull();
    });

    it("refuses a user outside the filter, two matching entries, and a wrong password", async () => {
      for (const [user, pw] of [
        ["carol", "carol pw"],
        ["twin", "twin pw"],
        ["alice", "wrong"],
        ["nobody", "x"],
      ] as const) {
        const r = await login(s.url, user, pw);
        expect(r.status, user).toBe(403);
        expect(r.body.errcode).toBe("M_FORBIDDEN");
      }
      expect(await s.server.accounts.stores.users.get("@carol:localhost")).toBeNull();
      expect(await s.server.accounts.stores.users.get("@twin:localhost")).toBeNull();
    });
  });
});

describe("Active Directory mode", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await ldapServer("sqlite", {
      ...SEARCH,
      attributes: { uid: "mail", mail: "mail", name: "cn" },
      active_directory: true,
      default_domain: "example.test",
    });
  });
  afterAll(async () => {
    await s.close();
  });

  it("maps login/domain, domain\\login and a bare login in the default domain", async () => {
    const slash = await login(s.url, "Dave/corp.test", "dave pw");
    expect(slash.status).toBe(200);
    expect(slash.body.user_id).toBe("@dave/corp.test:localhost");
    const backslash = await login(s.url, "corp.test\\dave", "dave pw");
    expect(backslash.body.user_id).toBe("@dave/corp.test:localhost");
    // A short domain gets the forest's root domain (the RootDSE's rootDomainNamingContext, DC=test) appended.
    const short = await login(s.url, "CORP\\dave", "dave pw");
    expect(short.body.user_id).toBe("@dave/corp.test:localhost");
    const bare = await login(s.url, "frank", "frank pw");
    expect(bare.status).toBe(200);
    expect(bare.body.user_id).toBe("@frank:localhost");
    expect(await displayName(s, "@frank:localhost")).toBe("Frank");
    // dave's principal is in corp.test, not the default domain.
    expect((await login(s.url, "dave", "dave pw")).status).toBe(403);
  });

  it("maps the principal of an entry found by its e-mail address as the module does", async () => {
    const byEmail = (address: string, password: string) =>
      call<{ user_id: string }>(s.url, "POST", "/_matrix/client/v3/login", {
        json: { type: "m.login.password", identifier: { type: "m.id.thirdparty", medium: "email", address }, password },
      });
    expect((await byEmail("dave@corp.test", "dave pw")).body.user_id).toBe("@dave/corp.test:localhost");
    expect((await byEmail("frank@example.test", "frank pw")).body.user_id).toBe("@frank:localhost");
  });
});

describe("a directory that cannot be asked", () => {
  let s: TestServer;
  let deadPort: number;
  beforeAll(async () => {
    deadPort = await freePort();
    s = await ldapServer("sqlite", { uri: `ldap://127.0.0.1:${deadPort}`, timeout: "2s" });
    const r = await registerShared(s.url, { username: "local", password: "local pw" });
    expect(r.status).toBe(200);
  });
  afterAll(async () => {
    await s.close();
  });

  it("says the directory is unavailable, not that the password is wrong", async () => {
    const r = await login(s.url, "alice", "alice pw");
    expect(r.status).toBe(503);
    expect(r.body).toEqual({
      errcode: "M_UNKNOWN",
      error: "The login directory (LDAP) is unavailable; try again later",
    });
  });

  it("lets an account with a local password in", async () => {
    const r = await login(s.url, "local", "local pw");
    expect(r.status).toBe(200);
    expect(r.body.user_id).toBe("@local:localhost");
  });

  it("uses the first server of the list that answers", async () => {
    const p = provider({ uris: [`ldap://127.0.0.1:${deadPort}`, slapd.url] });
    expect(await p.check("alice", "alice pw")).toMatchObject({ kind: "accepted" });
  });

  it("counts the failures against rc_login.failed_attempts", async () => {
    const limited = await ldapServer(
      "sqlite",
      { uri: `ldap://127.0.0.1:${deadPort}` },
      { rc_login: { address: PLENTY, account: PLENTY, failed_attempts: { per_second: 0.001, burst_count: 2 } } },
    );
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await login(limited.url, "alice", "alice pw")).status);
      expect(statuses).toEqual([503, 503, 429]);
    } finally {
      await limited.close();
    }
  });

  it("a stopped slapd: unavailable, then back", async () => {
    const p = provider({ mode: "search", ...SEARCH, base: PEOPLE });
    await slapd.stop();
    try {
      expect(await p.check("alice", "alice pw")).toMatchObject({ kind: "unavailable" });
    } finally {
      await slapd.start();
    }
    expect(await p.check("alice", "alice pw")).toMatchObject({ kind: "accepted" });
  });
});

describe("a slow directory", () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let s: TestServer;
  beforeAll(async () => {
    // Accepts connections and never answers: a directory that hangs.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    s = await ldapServer("sqlite", { uri: `ldap://127.0.0.1:${port}`, timeout: "1s" });
  });
  afterAll(async () => {
    await s.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it("answers with the unavailable error within the time limit", async () => {
    const started = Date.now();
    const r = await login(s.url, "alice", "alice pw");
    expect(r.status).toBe(503);
    expect(r.body.errcode).toBe("M_UNKNOWN");
    // One 1 s operation timeout; the bound leaves room for a loaded machine, far below a hung request.
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});

describe("enable_registration: false in the module", () => {
  it("refuses a directory user who has no account yet", async () => {
    const s = await ldapServer("sqlite", { ...SEARCH, enable_registration: false });
    try {
      const r = await login(s.url, "erin", "erin pw");
      expect(r.status).toBe(403);
      expect(await s.server.accounts.stores.users.get("@erin:localhost")).toBeNull();
    } finally {
      await s.close();
    }
  });
});

describe("bind_password_file", () => {
  /** The LDAP module's config in a real file, loaded as `serve` loads it (the secret file read from disk). */
  function loadWith(moduleConfig: Record<string, unknown>) {
    const db = {
      kind: "sqlite" as const,
      url: "",
      config: { name: "sqlite3" as const, args: { database: ":memory:" } },
    };
    return loadConfig([writeConfigFile(rawConfigFor(db, ldapModule({ ...SEARCH, ...moduleConfig })))]);
  }

  it("reads the service account's password from the file, without its trailing newlines", async () => {
    const file = join(tempDir(), "ldap-bind-password");
    writeFileSync(file, `${LDAP_ADMIN_PASSWORD}\n\n`, { mode: 0o600 });
    const { config } = loadWith({ bind_password: undefined, bind_password_file: file });
    expect(config.ldap?.bind_password).toBe(LDAP_ADMIN_PASSWORD);
    // The service bind works with it: the search finds alice and her password is checked.
    const verdict = await new LdapProvider(config.ldap!, "localhost", () => {}).check("alice", "alice pw");
    expect(verdict).toMatchObject({ kind: "accepted", localpart: "alice" });
  });

  it("refuses to start with a file that is missing or empty, naming the key and the file", () => {
    const dir = tempDir();
    const problems = (moduleConfig: Record<string, unknown>) => {
      try {
        loadWith({ bind_password: undefined, ...moduleConfig });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems.map((p) => `${p.key}: ${p.message}`);
      }
      throw new Error("the configuration was accepted");
    };
    const missing = join(dir, "nowhere");
    expect(problems({ bind_password_file: missing })).toEqual([
      `modules[0].config.bind_password_file: cannot read ${missing}: no such file`,
    ]);
    // An empty password would make the service bind an anonymous one (RFC 4513 §5.1.2).
    const empty = join(dir, "empty");
    writeFileSync(empty, "\n");
    expect(problems({ bind_password_file: empty })).toEqual([
      `modules[0].config.bind_password_file: ${empty} is empty`,
    ]);
  });
});

describe("configuration", () => {
  it("reads Synapse's keys, and warns about modules Gatehouse cannot run", () => {
    const raw = rawConfigFor(
      { kind: "sqlite", url: "", config: { name: "sqlite3", args: { database: ":memory:" } } },
      {
        modules: [
          { module: "synapse_spamcheck.Checker", config: {} },
          {
            module: "ldap_auth_provider.LdapAuthProviderModule",
            config: {
              enabled: true,
              uri: ["ldap://a.example", "ldaps://b.example:636"],
              base: "ou=people,dc=example,dc=com",
              attributes: { uid: "uid", mail: "mail", name: "cn" },
              bind_dn: "cn=reader,dc=example,dc=com",
              bind_password: "secret",
            },
          },
        ],
      },
    );
    const origins = new Map(Object.keys(raw).map((k) => [k, "test.yaml"]));
    const { config, warnings } = validateConfig(raw, origins, { readSecretFile: () => "" });
    expect(warnings).toContainEqual({
      file: "test.yaml",
      key: "modules[0].module",
      message: expect.stringContaining("Gatehouse cannot run; ignored"),
    });
    expect(config.ldap).toMatchObject({
      uris: ["ldap://a.example", "ldaps://b.example:636"],
      mode: "search",
      timeout_ms: 5_000,
      enable_registration: true,
    });
    const bad = {
      ...raw,
      modules: [
        {
          module: "ldap_auth_provider.LdapAuthProviderModule",
          config: {
            enabled: true,
            uri: "ldap://a",
            base: "dc=x",
            attributes: { uid: "uid", mail: "mail", name: "cn" },
            filter: "objectClass=person",
          },
        },
      ],
    };
    expect(() => configFrom(bad)).toThrow(/modules\[0\]\.config\.filter: is not an LDAP filter/);
  });
});
