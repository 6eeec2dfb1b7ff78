/**
 * Shared-secret registration as a client of the API would do it: fetch a nonce, MAC, post.
 */
import { computeRegistrationMac } from "../../src/accounts/registration-mac.js";
import { call, type HttpResult } from "./http.js";
import { SHARED_SECRET } from "./server.js";

export interface SharedSecretRegistration {
  username: string;
  password: string;
  admin?: boolean;
  user_type?: string | null;
  secret?: string;
  extra?: Record<string, unknown>;
}

export async function getNonce(base: string): Promise<string> {
  const r = await call<{ nonce: string }>(base, "GET", "/_synapse/admin/v1/register");
  if (r.status !== 200) throw new Error(`nonce: ${r.status} ${r.text}`);
  return r.body.nonce;
}

export async function registerShared(base: string, reg: SharedSecretRegistration, nonce?: string): Promise<HttpResult> {
  const n = nonce ?? (await getNonce(base));
  const mac = computeRegistrationMac(
    reg.secret ?? SHARED_SECRET,
    n,
    reg.username,
    reg.password,
    reg.admin ?? false,
    reg.user_type ?? null,
  );
  return call(base, "POST", "/_synapse/admin/v1/register", {
    json: {
      nonce: n,
      username: reg.username,
      password: reg.password,
      mac,
      admin: reg.admin ?? false,
      user_type: reg.user_type ?? null,
      ...reg.extra,
    },
  });
}
