/**
 * @module LDAP as a password provider, as matrix-synapse-ldap3 does it: simple mode binds as
 * `<uid>=<username>,<base>`; search mode binds as `bind_dn` (or anonymously), finds exactly one entry matching
 * `(&(<uid>=<username>)<filter>)` under `base`, then binds as that entry with the user's password; Active Directory
 * mode maps `login/domain`, `domain\login` or a bare login (with `default_domain`) to a user principal name. Login
 * with an e-mail address (`checkEmail`, the module's `check_3pid_auth`) searches by `attributes.mail` instead.
 *
 * Unlike the module, the username is escaped wherever it meets LDAP syntax: in the DN per RFC 4514, in the search
 * filter per RFC 4515 (ldapts's filter classes). An empty password is refused before any bind (RFC 4513 §5.1.2:
 * a DN with an empty password is an anonymous bind, which some directories accept). Every connection and operation
 * has a time limit, so a slow directory is an answer ("unavailable"), never a request that hangs.
 */
import {
  AndFilter,
  BusyError,
  Client,
  EqualityFilter,
  FilterParser,
  InvalidCredentialsError,
  ResultCodeError,
  UnavailableError,
  type Entry,
  type Filter,
} from "ldapts";
import type { LdapConfig } from "../config/ldap-config.js";
import type { DirectoryVerdict, PasswordProvider } from "./provider.js";

/** RFC 4514 §2.4: the characters escaped anywhere in an attribute value, then the positional ones. */
export function escapeDnValue(value: string): string {
  const out = value.replace(/[\\"+,;<>=\0]/g, (c) => (c === "\0" ? "\\00" : `\\${c}`));
  const lead = value.startsWith("#") || value.startsWith(" ") ? "\\" : "";
  if (value.length > 1 && value.endsWith(" ")) return `${lead}${out.slice(0, -1)}\\ `;
  return `${lead}${out}`;
}

/** Who the typed name is to the directory (`uid`) and to Matrix (`localpart`). */
interface MappedLogin {
  uidValue: string;
  localpart: string;
  /** The display name of a new account when the directory gives none (the module's default). */
  defaultDisplayName: string;
}

/** Not one LDAP answer came back from this URI (refused, unreachable, timed out, TLS failed): try the next one. */
class ServerFailure extends Error {}

export class LdapProvider implements PasswordProvider {
  readonly name = "ldap";
  readonly createAccounts: boolean;
  private readonly extraFilter: Filter | null;
  /** The forest's root domain once read (Active Directory, search mode); null until then. */
  private rootDomainCache: string | null = null;

  constructor(
    private readonly config: LdapConfig,
    private readonly serverName: string,
    private readonly log: (message: string) => void,
  ) {
    this.createAccounts = config.enable_registration;
    this.extraFilter = config.filter === null ? null : FilterParser.parseString(config.filter);
  }

  async check(username: string, password: string): Promise<DirectoryVerdict> {
    const verdict = await this.checkQuietly(username, password);
    if (verdict.kind !== "accepted") this.log(`LDAP login for ${JSON.stringify(username)}: ${verdict.reason}`);
    return verdict;
  }

  /**
   * The module's `check_3pid_auth`: in search mode, the one entry whose `attributes.mail` is `address` (and that
   * passes `filter`), bound as with the user's password; its `attributes.uid` gives the localpart (Active Directory:
   * `login@domain` as `login/domain`, or `login` in the default domain). Simple mode has no search: refused.
   */
  async checkEmail(address: string, password: string): Promise<DirectoryVerdict> {
    const verdict = await this.checkEmailQuietly(address, password);
    if (verdict.kind !== "accepted") this.log(`LDAP login for ${JSON.stringify(address)}: ${verdict.reason}`);
    return verdict;
  }

  private async checkEmailQuietly(address: string, password: string): Promise<DirectoryVerdict> {
    if (this.config.mode !== "search") return { kind: "rejected", reason: "e-mail login needs search mode" };
    if (password === "") return { kind: "rejected", reason: "empty password (refused before any bind)" };
    return this.onFirstAnswering((uri) => this.checkOn(uri, { address }, password));
  }

  private async checkQuietly(username: string, password: string): Promise<DirectoryVerdict> {
    if (password === "") return { kind: "rejected", reason: "empty password (refused before any bind)" };
    let name = username;
    if (name.startsWith("@") && name.includes(":")) {
      const colon = name.indexOf(":");
      if (name.slice(colon + 1) !== this.serverName) return { kind: "rejected", reason: "a user of another server" };
      name = name.slice(1, colon);
    }
    // Checked before any connection: a name that maps to nothing is refused whatever the directory holds.
    const unmappable = this.mapLogin(name, "");
    if (typeof unmappable === "string") return { kind: "rejected", reason: unmappable };
    return this.onFirstAnswering((uri) => this.checkOn(uri, { name }, password));
  }

  /** The verdict of the first server of `uri` that answers at all. */
  private async onFirstAnswering(check: (uri: string) => Promise<DirectoryVerdict>): Promise<DirectoryVerdict> {
    const failures: string[] = [];
    for (const uri of this.config.uris) {
      try {
        return await check(uri);
      } catch (err) {
        if (!(err instanceof ServerFailure)) throw err;
        failures.push(`${uri}: ${err.message}`);
      }
    }
    return { kind: "unavailable", reason: `no LDAP server answered (${failures.join("; ")})` };
  }

  /** A directory entry's `uid` as a Matrix localpart: the module's mapping of a user principal name in AD mode. */
  private localpartFromUid(uid: string): MappedLogin {
    const at = uid.lastIndexOf("@");
    if (!this.config.active_directory || at < 0) return { uidValue: uid, localpart: uid, defaultDisplayName: uid };
    const login = uid.slice(0, at).toLowerCase();
    const domain = uid.slice(at + 1).toLowerCase();
    const isDefault = this.config.default_domain !== null && domain === this.config.default_domain.toLowerCase();
    return { uidValue: uid, localpart: isDefault ? login : `${login}/${domain}`, defaultDisplayName: login };
  }

  private async rootDomain(client: Client): Promise<string> {
    this.rootDomainCache ??= await readRootDomain(client);
    return this.rootDomainCache;
  }

  /** The typed name (a `@user:server` already reduced) as the directory and Matrix know it, or why it cannot be. */
  private mapLogin(name: string, rootDomain: string): MappedLogin | string {
    if (!this.config.active_directory) return { uidValue: name, localpart: name, defaultDisplayName: name };
    return this.mapActiveDirectory(name, rootDomain);
  }

  /**
   * The module's `_map_login_to_upn`: `domain\login` (a short domain gets the forest's root domain appended, as
   * read from the RootDSE in search mode), `login/domain`, or a bare login in `default_domain`.
   */
  private mapActiveDirectory(username: string, rootDomain: string): MappedLogin | string {
    const lower = username.toLowerCase();
    let login = lower;
    let domain = this.config.default_domain;
    const backslash = lower.lastIndexOf("\\");
    const slash = lower.lastIndexOf("/");
    if (backslash >= 0) {
      domain = lower.slice(0, backslash);
      login = lower.slice(backslash + 1);
      if (rootDomain !== "" && !domain.endsWith(rootDomain)) domain = `${domain}.${rootDomain}`;
    } else if (slash >= 0) {
      login = lower.slice(0, slash);
      domain = lower.slice(slash + 1);
    } else if (domain === null) {
      return "no domain in the login (login/domain or domain\\login) and no default_domain";
    }
    if (login === "" || domain === "") return "an empty login or domain";
    const isDefault = this.config.default_domain !== null && domain === this.config.default_domain.toLowerCase();
    return {
      uidValue: `${login}@${domain}`,
      localpart: isDefault ? login : `${login}/${domain}`,
      defaultDisplayName: login,
    };
  }

  private async checkOn(
    uri: string,
    lookup: { name: string } | { address: string },
    password: string,
  ): Promise<DirectoryVerdict> {
    const { config } = this;
    const tlsOptions = { rejectUnauthorized: config.validate_cert };
    // ldapts speaks TLS from the start whenever it is given TLS options, so only ldaps:// gets them here.
    const client = new Client({
      url: uri,
      timeout: config.timeout_ms,
      connectTimeout: config.timeout_ms,
      ...(/^ldaps:/i.test(uri) ? { tlsOptions } : {}),
    });
    // Set once the server has answered anything: a failure after that is this server's answer, not its absence.
    let answered = false;
    const step = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
      try {
        const result = await op();
        answered = true;
        return result;
      } catch (err) {
        if (err instanceof ResultCodeError) {
          answered = true;
          throw err;
        }
        const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
        throw answered ? new Error(message) : new ServerFailure(message);
      }
    };
    try {
      if (config.start_tls) await step("StartTLS", () => client.startTLS(tlsOptions));
      if (config.mode === "simple" && "name" in lookup) {
        const mapped = this.mapLogin(lookup.name, "");
        if (typeof mapped === "string") return { kind: "rejected", reason: mapped };
        const dn = `${config.attributes.uid}=${escapeDnValue(mapped.uidValue)},${config.base}`;
        await step("bind", () => client.bind(dn, password));
        return {
          kind: "accepted",
          localpart: mapped.localpart,
          displayName: mapped.defaultDisplayName,
          email: null,
          attributesKnown: false,
        };
      }
      if (config.bind_dn !== null) {
        try {
          await step("service bind", () => client.bind(config.bind_dn!, config.bind_password ?? ""));
        } catch (err) {
          if (err instanceof ServerFailure) throw err;
          return { kind: "unavailable", reason: `the service account (bind_dn) was refused: ${describeError(err)}` };
        }
      }
      const { uid, name: nameAttribute, mail } = config.attributes;
      let mapped: MappedLogin | null = null;
      let match: Filter;
      if ("name" in lookup) {
        const needsRoot = config.active_directory && lookup.name.includes("\\");
        const root = needsRoot ? await step("RootDSE search", () => this.rootDomain(client)) : "";
        const login = this.mapLogin(lookup.name, root);
        if (typeof login === "string") return { kind: "rejected", reason: login };
        mapped = login;
        match = new EqualityFilter({ attribute: uid, value: login.uidValue });
      } else {
        match = new EqualityFilter({ attribute: mail, value: lookup.address });
      }
      const filter = this.extraFilter ? new AndFilter({ filters: [match, this.extraFilter] }) : match;
      const { searchEntries } = await step("search", () =>
        client.search(config.base, { scope: "sub", filter, attributes: [uid, nameAttribute, mail], sizeLimit: 2 }),
      );
      if (searchEntries.length !== 1) {
        return {
          kind: "rejected",
          reason: searchEntries.length === 0 ? "no entry matches" : "more than one entry matches",
        };
      }
      const entry = searchEntries[0]!;
      if (mapped === null) {
        // Found by its address: the entry's own uid names the account, as the module registers it.
        const uidValue = singleValue(entry, uid);
        if (uidValue === null) return { kind: "rejected", reason: `the entry has no single ${uid}` };
        mapped = this.localpartFromUid(uidValue);
      }
      await step("bind", () => client.bind(entry.dn, password));
      return {
        kind: "accepted",
        localpart: mapped.localpart,
        displayName: singleValue(entry, nameAttribute) ?? mapped.defaultDisplayName,
        email: singleValue(entry, mail),
        attributesKnown: true,
      };
    } catch (err) {
      if (err instanceof ServerFailure) throw err;
      if (err instanceof BusyError || err instanceof UnavailableError || !(err instanceof ResultCodeError)) {
        return { kind: "unavailable", reason: describeError(err) };
      }
      if (err instanceof InvalidCredentialsError) return { kind: "rejected", reason: "wrong password" };
      return { kind: "rejected", reason: describeError(err) };
    } finally {
      await client.unbind().catch(() => {});
    }
  }
}

/**
 * The Active Directory forest's root domain from the RootDSE's `rootDomainNamingContext` (`DC=example,DC=com` →
 * `example.com`), or "" when the directory has none. Read once per provider: it names the forest, which does not
 * change under a running server.
 */
async function readRootDomain(client: Client): Promise<string> {
  const { searchEntries } = await client.search("", {
    scope: "base",
    filter: "(objectClass=*)",
    attributes: ["rootDomainNamingContext"],
  });
  const context = searchEntries[0] ? singleValue(searchEntries[0], "rootDomainNamingContext") : null;
  if (context === null) return "";
  return context
    .split(",")
    .map((rdn) => rdn.split("=")[1]?.trim() ?? "")
    .filter((label) => label !== "")
    .join(".")
    .toLowerCase();
}

function describeError(err: unknown): string {
  if (err instanceof ResultCodeError) return `${err.constructor.name} (LDAP result ${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

/** The attribute's value when it has exactly one (the module's rule), matched ignoring the name's case. */
function singleValue(entry: Entry, attribute: string): string | null {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase() && k !== "dn");
  const v = key === undefined ? undefined : entry[key];
  if (typeof v === "string") return v === "" ? null : v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === "string") return v[0];
  return null;
}

/** The providers a configuration asks for, in the order they are consulted. */
export function passwordProvidersFor(
  config: { ldap: LdapConfig | null; server_name: string },
  log: (message: string) => void,
): PasswordProvider[] {
  return config.ldap ? [new LdapProvider(config.ldap, config.server_name, log)] : [];
}
