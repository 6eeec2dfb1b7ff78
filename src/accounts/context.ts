/**
 * @module What every account service needs: the rules from the configuration, the stores, the hasher and a clock.
 */
import type { Config } from "../config/schema.js";
import type { Stores } from "../db/stores.js";
import { PasswordHasher } from "./passwords.js";
import type { UsernameRules } from "./username.js";
import type { PasswordPolicyConfig } from "../config/schema.js";

export interface AccountsContext {
  serverName: string;
  stores: Stores;
  hasher: PasswordHasher;
  usernameRules: UsernameRules;
  passwordPolicy: PasswordPolicyConfig;
  /** `registration_shared_secret`, resolved; null turns shared-secret registration off. */
  sharedSecret: string | null;
  /** Milliseconds since the epoch; injectable so expiry can be tested without waiting. */
  now: () => number;
}

/** The subset of `Config` the account services read; the CLI builds one without a full server config. */
export type AccountsConfig = Pick<
  Config,
  "server_name" | "bcrypt_rounds" | "password_config" | "allow_underscore_prefixed_localpart" | "registration_shared_secret"
>;

export function createAccountsContext(config: AccountsConfig, stores: Stores, now: () => number = Date.now): AccountsContext {
  return {
    serverName: config.server_name,
    stores,
    hasher: new PasswordHasher({
      algorithm: config.password_config.algorithm,
      bcryptRounds: config.bcrypt_rounds,
      pepper: config.password_config.pepper,
    }),
    usernameRules: {
      serverName: config.server_name,
      allowUnderscorePrefix: config.allow_underscore_prefixed_localpart,
    },
    passwordPolicy: config.password_config.policy,
    sharedSecret: config.registration_shared_secret,
    now,
  };
}
