/**
 * A throwaway OpenLDAP server (Debian's slapd) for a test file: its own directory under the system's temp dir, a
 * `slapd.conf` with the stock schemas and the mdb backend, the seed loaded offline with `slapadd`, then
 * `slapd -h ldap://127.0.0.1:<free port>/`. Nothing of the machine's own LDAP configuration is touched. Start it in
 * `beforeAll`, stop it in `afterAll`.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { Attribute, Change, Client } from "ldapts";
import { tempDir } from "./databases.js";

const run = promisify(execFile);

const SLAPD = "/usr/sbin/slapd";
const SLAPADD = "/usr/sbin/slapadd";
const SCHEMAS = ["core", "cosine", "inetorgperson", "nis"].map((s) => `/etc/ldap/schema/${s}.schema`);
const MODULE_PATH = "/usr/lib/ldap";

export const LDAP_BASE = "dc=example,dc=test";
export const LDAP_ADMIN_DN = `cn=admin,${LDAP_BASE}`;
export const LDAP_ADMIN_PASSWORD = "admin secret";

export interface Slapd {
  url: string;
  port: number;
  /** The same directory over TLS from the first byte (`ldaps://`), with a self-signed certificate; `url` also offers StartTLS. */
  ldapsUrl: string;
  /** Stops the server (and waits until it has gone); `start` brings it back on the same port with the same data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Changes an entry's attributes as the directory's administrator (each value replaces the attribute's values). */
  replace(dn: string, attributes: Record<string, string | string[]>): Promise<void>;
}

/** The system packages the helper needs, named so a missing one says what to install. */
function checkInstalled(): void {
  const needed = [SLAPD, SLAPADD, ...SCHEMAS, join(MODULE_PATH, "back_mdb.so")];
  const missing = needed.filter((p) => !existsSync(p));
  if (missing.length > 0) throw new Error(`slapd tests need Debian's slapd package: missing ${missing.join(", ")}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, ok: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`slapd: ${what} took longer than ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An administrator's connection; the caller unbinds. */
async function adminClient(url: string): Promise<Client> {
  const client = new Client({ url, timeout: 5_000, connectTimeout: 5_000 });
  await client.bind(LDAP_ADMIN_DN, LDAP_ADMIN_PASSWORD);
  return client;
}

/** A self-signed certificate for 127.0.0.1 (openssl, an EC key: quick to make). */
async function selfSignedCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ]);
  return { cert, key };
}

/** Starts slapd with `seed` (LDIF; the base entry `dc=example,dc=test` is added before it). */
export async function startSlapd(seed: string): Promise<Slapd> {
  checkInstalled();
  const dir = tempDir("gatehouse-slapd-");
  mkdirSync(join(dir, "db"));
  const tls = await selfSignedCertificate(dir);
  const conf = join(dir, "slapd.conf");
  const pidFile = join(dir, "slapd.pid");
  writeFileSync(
    conf,
    [
      ...SCHEMAS.map((s) => `include ${s}`),
      // Active Directory's forest root, in the RootDSE as AD publishes it: `DC=test`.
      "attributetype ( 1.3.6.1.4.1.99999.1.1 NAME 'rootDomainNamingContext' EQUALITY distinguishedNameMatch " +
        "SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )",
      `rootDSE ${join(dir, "rootdse.ldif")}`,
      `pidfile ${pidFile}`,
      `TLSCertificateFile ${tls.cert}`,
      `TLSCertificateKeyFile ${tls.key}`,
      `modulepath ${MODULE_PATH}`,
      "moduleload back_mdb",
      "database mdb",
      "maxsize 10485760",
      `suffix "${LDAP_BASE}"`,
      `rootdn "${LDAP_ADMIN_DN}"`,
      `rootpw "${LDAP_ADMIN_PASSWORD}"`,
      `directory ${join(dir, "db")}`,
      "access to attrs=userPassword by anonymous auth by self write by * none",
      "access to * by * read",
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "rootdse.ldif"), "dn:\nrootDomainNamingContext: DC=test\n");
  const base = `dn: ${LDAP_BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n`;
  writeFileSync(join(dir, "seed.ldif"), base + seed);
  await run(SLAPADD, ["-q", "-f", conf, "-l", join(dir, "seed.ldif")]);
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = `ldaps://127.0.0.1:${await freePort()}`;
  let pid: number | null = null;

  const start = async () => {
    // slapd forks and the parent exits once the listener is open; the pid file names the daemon.
    await run(SLAPD, ["-f", conf, "-h", `${url}/ ${ldapsUrl}/`]);
    await waitFor("writing its pid file", () => existsSync(pidFile));
    pid = Number(readFileSync(pidFile, "utf8").trim());
    await waitFor("answering", async () => {
      try {
        await (await adminClient(url)).unbind();
        return true;
      } catch {
        return false;
      }
    });
  };
  const stop = async () => {
    if (pid === null) return;
    const running = pid;
    pid = null;
    if (pidAlive(running)) process.kill(running, "SIGTERM");
    await waitFor("stopping", () => !pidAlive(running));
  };
  await start();
  return {
    url,
    port,
    ldapsUrl,
    start,
    stop,
    async replace(dn, attributes) {
      const client = await adminClient(url);
      try {
        const changes = Object.entries(attributes).map(
          ([type, values]) =>
            new Change({
              operation: "replace",
              modification: new Attribute({ type, values: Array.isArray(values) ? values : [values] }),
            }),
        );
        await client.modify(dn, changes);
      } finally {
        await client.unbind();
      }
    },
  };
}

/** One LDIF entry for an `inetOrgPerson` under `ou`. */
export function person(
  ou: string,
  uid: string,
  password: string,
  attributes: Record<string, string | string[]> = {},
): string {
  const lines = [
    `dn: uid=${uid},ou=${ou},${LDAP_BASE}`,
    "objectClass: inetOrgPerson",
    `uid: ${uid}`,
    `sn: ${uid}`,
    `userPassword: ${password}`,
  ];
  const withCn = { cn: uid, ...attributes };
  for (const [k, v] of Object.entries(withCn))
    for (const value of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${value}`);
  return `${lines.join("\n")}\n\n`;
}

export function organizationalUnit(ou: string): string {
  return `dn: ou=${ou},${LDAP_BASE}\nobjectClass: organizationalUnit\nou: ${ou}\n\n`;
}
