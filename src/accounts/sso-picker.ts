/**
 * @module The username picker (Synapse's `/_synapse/client/pick_username`): a provider's user with no localpart
 * template, or with `confirm_localpart`, chooses a name; availability is the username rules' answer; the account is
 * made by `registerSsoUser`, the same path as a template's name, with the display name and e-mail only if opted in.
 */
import { ErrCode, MatrixError } from "../errors.js";
import type { ServerContext } from "./context.js";
import { completeSsoLogin, findProvider, mappingSession, type SsoCompletion } from "./sso-login.js";
import { registerSsoUser, registrationAllowed, SsoError } from "./sso-users.js";
import { checkUsername } from "./username.js";

export interface PickerView {
  idpName: string;
  suggestion: string;
  displayname: string | null;
  emails: string[];
  serverName: string;
}

export function pickerView(sc: ServerContext, cookie: string | undefined): PickerView {
  const s = mappingSession(sc, cookie);
  const p = findProvider(sc, s.idp);
  return {
    idpName: p.idp_name,
    suggestion: s.attrs.localpart ?? "",
    displayname: s.attrs.displayname,
    emails: s.attrs.emails,
    serverName: sc.config.server_name,
  };
}

/** `GET /_synapse/client/pick_username/check`: `{"available": true}`, or the username rules' refusal. */
export async function checkPickedUsername(sc: ServerContext, username: string | null): Promise<{ available: true }> {
  if (username === null || username === "") throw new MatrixError(ErrCode.MissingParam, "Missing param: username");
  await checkUsername(username, sc.accounts.usernameRules, sc.accounts.stores.users);
  return { available: true };
}

export interface PickedDetails {
  username: string;
  useDisplayName: boolean;
  useEmails: string[];
}

/** `POST /_synapse/client/pick_username/account_details`: the account, then the hand-off to the client. */
export async function submitPickedUsername(
  sc: ServerContext,
  cookie: string | undefined,
  details: PickedDetails,
  ip: string,
): Promise<SsoCompletion> {
  const s = mappingSession(sc, cookie);
  const p = findProvider(sc, s.idp);
  // The cookie is stateless, so it is spent by the account it made: a replayed one must not log in again.
  if ((await sc.accounts.stores.externalIds.owner(p.idp_id, s.attrs.subject)) !== null) {
    throw new SsoError("This username-mapping session has been used already: log in again");
  }
  if (!registrationAllowed(sc, p)) {
    throw new SsoError("User does not exist and registrations are disabled for this identity provider");
  }
  await checkUsername(details.username, sc.accounts.usernameRules, sc.accounts.stores.users);
  const userId = await registerSsoUser(
    sc,
    p,
    {
      subject: s.attrs.subject,
      localpart: details.username,
      displayname: details.useDisplayName ? s.attrs.displayname : null,
      emails: s.attrs.emails.filter((e) => details.useEmails.includes(e)),
      picture: s.attrs.picture,
    },
    ip,
  );
  return completeSsoLogin(sc, userId, s.redirect, s.sso, s.attrs.picture);
}
