/**
 * @module What a password provider (an external directory that checks `m.login.password`) answers. The account
 * services consult every provider before the local password, as Synapse consults its password-provider modules.
 */

/** The directory's verdict on a username and password. */
export type DirectoryVerdict =
  | {
      kind: "accepted";
      /** The Matrix localpart the directory user maps to, before lower-casing. */
      localpart: string;
      /** From the directory when `attributesKnown`, else the name the user typed. */
      displayName: string;
      email: string | null;
      /** True when the entry's attributes were read (search mode): they may refresh an existing account. */
      attributesKnown: boolean;
    }
  /** The directory answered and said no (wrong password, no such entry, two entries). */
  | { kind: "rejected"; reason: string }
  /** The directory could not be asked (down, slow, misconfigured service account). */
  | { kind: "unavailable"; reason: string };

export interface PasswordProvider {
  /** What the audit log and the server's log call it ("ldap"). */
  readonly name: string;
  /** False: a directory user without an account is refused instead of getting one. */
  readonly createAccounts: boolean;
  /** Never throws; the password never appears in a verdict's reason. */
  check(username: string, password: string): Promise<DirectoryVerdict>;
  /** The same for an e-mail address (`m.id.thirdparty`), for a provider that can find its users by address. */
  checkEmail?(address: string, password: string): Promise<DirectoryVerdict>;
}
