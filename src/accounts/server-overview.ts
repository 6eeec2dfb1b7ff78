/**
 * @module What the console's dashboard shows about the server as a whole: who it is, how people get accounts on it,
 * and how many accounts there are.
 */
import type { Config } from "../config/schema.js";
import type { UserCounts } from "../db/user-counts.js";
import type { AccountsContext } from "./context.js";

/** `closed`: nobody signs up; `token`: only with a registration token; `open`: anyone. */
export type RegistrationMode = "closed" | "token" | "open";

export interface ServerOverviewResponse {
  server_name: string;
  server_version: string;
  registration: RegistrationMode;
  /** The address clients should be given (`public_baseurl`), or null when it is not configured. */
  public_baseurl: string | null;
  users: UserCounts;
}

export function registrationMode(
  config: Pick<Config, "enable_registration" | "registration_requires_token">,
): RegistrationMode {
  if (!config.enable_registration) return "closed";
  return config.registration_requires_token ? "token" : "open";
}

export async function serverOverview(
  ctx: AccountsContext,
  config: Pick<Config, "enable_registration" | "registration_requires_token" | "public_baseurl">,
  version: string,
): Promise<ServerOverviewResponse> {
  return {
    server_name: ctx.serverName,
    server_version: version,
    registration: registrationMode(config),
    public_baseurl: config.public_baseurl,
    users: await ctx.stores.userCounts.count(),
  };
}
