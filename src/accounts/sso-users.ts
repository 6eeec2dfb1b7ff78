/**
 * @module Who an identity provider's user is here: Synapse's mapping (`synapse/handlers/sso.py`,
 * `JinjaOidcMappingProvider`). An external ID already linked wins; else, with `allow_existing_users`, the account
 * the localpart names; else a new account, made by `registerUser` like every other (username rules, one
 * transaction with its external ID and e-mail), a generated localpart that is taken trying `name1`, `name2`, …
 */
import type { AttributeRequirement, OidcProviderConfig } from "../config/schema.js";
import { ErrCode, MatrixError } from "../errors.js";
import { canonicalEmail } from "../shared/email.js";
import type { ServerContext } from "./context.js";
import { recordAudit } from "./audit.js";
import { MAX_DISPLAYNAME_LENGTH } from "./profile.js";
import { registerUser } from "./registration.js";
import { userIdFor } from "./user-id.js";
import { checkLocalpartSyntax } from "./username.js";

/** Synapse's `_MAP_USERNAME_RETRIES`: how many suffixes a taken generated localpart tries. */
export const MAP_USERNAME_RETRIES = 1000;

export interface MappedAttributes {
  /** The external ID (`subject_template`, by default the `sub` claim). */
  subject: string;
  /** Null when the user must pick one (no `localpart_template`). */
  localpart: string | null;
  displayname: string | null;
  emails: string[];
  /** The picture's URL (`picture_template`), or null. */
  picture: string | null;
}

/** Synapse's `map_username_to_mxid_localpart`: lower-cased, other bytes as `=xx`, a leading `_` as `=5f`. */
export function mxidLocalpart(name: string): string {
  let out = "";
  for (const byte of Buffer.from(name.toLowerCase(), "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[a-z0-9_\-./=+]/.test(c) ? c : `=${byte.toString(16).padStart(2, "0")}`;
  }
  return out.replace(/^_/, "=5f");
}

/** The provider's templates over the claims; a subject that renders empty is refused (Synapse's wording). */
export function mapAttributes(p: OidcProviderConfig, claims: Record<string, unknown>): MappedAttributes {
  const m = p.user_mapping_provider;
  const subject = m.subject_template.render(claims).trim();
  if (subject === "") throw new SsoError("Failed to extract subject claim from the provider's response");
  const localpart = m.localpart_template ? mxidLocalpart(m.localpart_template.render(claims).trim()) : null;
  if (m.localpart_template && localpart === "") {
    throw new SsoError(`The provider gave no value for the localpart template ("${m.localpart_template.source}")`);
  }
  const displayname = m.display_name_template?.render(claims).trim() || null;
  const email = m.email_template ? canonicalEmail(m.email_template.render(claims)) : null;
  const picture = m.picture_template?.render(claims).trim() || null;
  return { subject, localpart, displayname, emails: email ? [email] : [], picture };
}

/** Synapse's `attribute_requirements`: every one must hold (a list claim holding the value counts). */
export function meetsRequirements(requirements: AttributeRequirement[], claims: Record<string, unknown>): boolean {
  return requirements.every((req) => {
    if (!(req.attribute in claims)) return false;
    const v = claims[req.attribute];
    const values = Array.isArray(v) ? v : [v];
    if (req.value !== null) return values.includes(req.value);
    if (req.one_of !== null) return values.some((x) => req.one_of!.includes(x as string));
    return true;
  });
}

/** A refusal shown to the browser (and logged): Synapse's SSO error page. */
export class SsoError extends MatrixError {
  constructor(message: string, errcode: ErrCode = ErrCode.Forbidden) {
    super(errcode, message);
  }
}

/** `existing`: the account was there before this login (linked, or an existing user's linked now). */
export type SsoUserOutcome = { userId: string; existing: boolean } | { pick: true };

/** Whether a new account may be made for this provider's users (the provider's key, then the server's). */
export function registrationAllowed(sc: ServerContext, p: OidcProviderConfig): boolean {
  if (!p.enable_registration) return false;
  return sc.config.enable_registration || sc.config.sso.registration_when_closed;
}

function refuseRegistration(): never {
  throw new SsoError("User does not exist and registrations are disabled for this identity provider");
}

/** The account for a provider's user: linked, existing (when allowed), new, or "ask the user for a name". */
export async function findOrCreateSsoUser(
  sc: ServerContext,
  p: OidcProviderConfig,
  attrs: MappedAttributes,
  ip: string,
): Promise<SsoUserOutcome> {
  const stores = sc.accounts.stores;
  const linked = await stores.externalIds.owner(p.idp_id, attrs.subject);
  if (linked !== null) return { userId: linked, existing: true };
  if (attrs.localpart === null || p.user_mapping_provider.confirm_localpart) {
    if (!p.allow_existing_users && !registrationAllowed(sc, p)) refuseRegistration();
    return { pick: true };
  }
  for (let failures = 0; failures < MAP_USERNAME_RETRIES; failures++) {
    const localpart = attrs.localpart + (failures ? String(failures) : "");
    const existing = await stores.users.getCaseInsensitive(userIdFor(localpart, sc.config.server_name));
    if (existing.length > 0) {
      if (p.allow_existing_users) {
        const user = existing.find((u) => u.userId === userIdFor(localpart, sc.config.server_name)) ?? existing[0]!;
        await stores.externalIds.add(user.userId, { authProvider: p.idp_id, externalId: attrs.subject });
        return { userId: user.userId, existing: true };
      }
      continue;
    }
    if (!registrationAllowed(sc, p)) refuseRegistration();
    try {
      return { userId: await registerSsoUser(sc, p, { ...attrs, localpart }, ip), existing: false };
    } catch (err) {
      // Taken between the look-up and the insert: the next suffix, as for a name found taken.
      if (err instanceof MatrixError && err.errcode === ErrCode.UserInUse) continue;
      throw err;
    }
  }
  throw new SsoError("Unable to generate a Matrix ID from the provider's response");
}

/**
 * `sso.update_profile_information` (Synapse's `complete_sso_login_request`): an existing account takes the
 * provider's display name when the template gives one and it differs, as `PUT /profile` would store it (at most 256
 * characters), and the account's member events follow. A deactivated account is left alone (its login is refused).
 */
export async function refreshSsoProfile(sc: ServerContext, userId: string, attrs: MappedAttributes): Promise<void> {
  if (!sc.config.sso.update_profile_information || attrs.displayname === null) return;
  const stores = sc.accounts.stores;
  const user = await stores.users.get(userId);
  const displayname = [...attrs.displayname.replaceAll("\0", "")].slice(0, MAX_DISPLAYNAME_LENGTH).join("").trim();
  if (!user || user.deactivated || displayname === "" || displayname === user.displayname) return;
  await stores.users.setProfile(userId, { displayname });
  await sc.accounts.userHooks.userChanged(userId);
}

/**
 * A new account for the provider's user through `registerUser` (the username rules apply; a refusal is shown as
 * the reason), with its external ID, its e-mail addresses (those no other account holds) and its audit entry (as a
 * directory's accounts get: `user.create` by the new user, with the provider as its source) in the same transaction,
 * so a failure leaves nothing behind. `ip` is the browser's address at the callback or the picker.
 */
export async function registerSsoUser(
  sc: ServerContext,
  p: OidcProviderConfig,
  attrs: MappedAttributes & { localpart: string },
  ip: string,
): Promise<string> {
  checkLocalpartSyntax(attrs.localpart, sc.accounts.usernameRules);
  const stores = sc.accounts.stores;
  const taken = await stores.threepids.owners("email", attrs.emails);
  const emails = attrs.emails.filter((e) => !taken.has(e));
  const now = sc.accounts.now();
  const { userId } = await registerUser(sc.accounts, {
    localpart: attrs.localpart,
    password: null,
    admin: false,
    userType: null,
    displayname: attrs.displayname,
    login: null,
    alsoInTransaction: async (tables, id) => {
      await tables.externalIds.add(id, { authProvider: p.idp_id, externalId: attrs.subject });
      for (const address of emails) {
        await tables.threepids.add(id, { medium: "email", address, validatedAt: now, addedAt: now });
      }
      const after = { source: p.idp_id, displayname: attrs.displayname, emails };
      await recordAudit(
        tables,
        sc.accounts,
        { userId: id, deviceId: null, tokenHash: "", ip },
        "user.create",
        id,
        {},
        after,
      );
    },
  });
  return userId;
}
