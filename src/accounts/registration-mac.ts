/**
 * @module The shared-secret registration MAC and its one unauthenticated extension field: what both the server and
 * `register_new_matrix_user` need, kept apart from the server's registration code so the command loads none of it.
 */
import { createHmac } from "node:crypto";

/** Gatehouse's extension: how long the access token issued on registration lives (not covered by the MAC). */
export const TOKEN_LIFETIME_FIELD = "org.gatehouse.access_token_lifetime_ms";

/** HMAC-SHA1 over `nonce\0username\0password\0admin|notadmin[\0user_type]`, lower-case hex. */
export function computeRegistrationMac(
  secret: string,
  nonce: string,
  username: string,
  password: string,
  admin: boolean,
  userType: string | null,
): string {
  const mac = createHmac("sha1", Buffer.from(secret, "utf8"));
  mac.update(Buffer.from(nonce, "utf8"));
  mac.update(Buffer.from([0]));
  mac.update(Buffer.from(username, "utf8"));
  mac.update(Buffer.from([0]));
  mac.update(Buffer.from(password, "utf8"));
  mac.update(Buffer.from([0]));
  mac.update(admin ? "admin" : "notadmin");
  if (userType) {
    mac.update(Buffer.from([0]));
    mac.update(Buffer.from(userType, "utf8"));
  }
  return mac.digest("hex");
}
