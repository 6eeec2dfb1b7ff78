/**
 * @module What every account service needs: the rules from the configuration, the stores, the hasher and a clock.
 */
import type { Config } from "../config/schema.js";
import type { Stores } from "../db/stores.js";
import { generateSigningKey, type SigningKey } from "../matrix/signing.js";
import { setHashingThreads } from "../metrics/metrics.js";
import { SyncNotifier } from "../sync/notifier.js";
import { hashingThreads, sharedHashPool } from "./hash-pool.js";
import { PasswordHasher } from "./passwords.js";
import { LastSeenThrottle } from "./last-seen.js";
import { SessionCache } from "./session-cache.js";
import type { RateLimiter } from "./ratelimit.js";
import type { UsernameRules } from "./username.js";
import type { PasswordPolicyConfig } from "../config/schema.js";
import type { PasswordProvider } from "../auth-providers/provider.js";

export interface AccountsContext {
  serverName: string;
  stores: Stores;
  hasher: PasswordHasher;
  usernameRules: UsernameRules;
  passwordPolicy: PasswordPolicyConfig;
  /** Synapse's `can_change_password()`: `password_config.enabled` and `localdb_enabled`. */
  passwordChangeEnabled: boolean;
  /** `registration_shared_secret`, resolved; null turns shared-secret registration off. */
  sharedSecret: string | null;
  /** Milliseconds since the epoch; injectable so expiry can be tested without waiting. */
  now: () => number;
  /** Token → session lookups, cleared by the stores whenever a session ends or changes. */
  sessionCache: SessionCache;
  /** When each device's last use was written, so it is written at most once a minute. */
  lastSeen: LastSeenThrottle;
  /** This server's waiting `/sync`s, woken by its stores' `onSyncChanged`. */
  syncNotifier: SyncNotifier;
  /**
   * The key this server signs with (events, its published keys): the first key of the `signing_key_path` file.
   * Sign with `signJson(object, ctx.serverName, ctx.signingKey)` (src/matrix/signing.ts).
   */
  signingKey: SigningKey;
  /** Every key of the key file, `signingKey` first; `/_matrix/key/v2/server` publishes them all. */
  signingKeys: readonly SigningKey[];
  /** What other services do after a user's account changed; the server wiring fills it in. */
  userHooks: UserHooks;
  /** Told when a mail was queued and committed; the server wiring makes the sending job run at once. */
  mailHooks: MailHooks;
  /** `presence.enabled`: false turns presence off (src/sync/presence.ts). */
  presenceEnabled: boolean;
  /**
   * The directories `m.login.password` consults before the local password (LDAP); empty unless `startServer` (or a
   * test) sets them from the configuration.
   */
  passwordProviders: PasswordProvider[];
}

/**
 * Called after a committed change to a user's profile or status (display name, avatar, deactivation), by every
 * path that makes one: the room service re-sends the user's member events, or makes a deactivated user leave
 * their rooms. The account services do not know rooms; they only say that something changed.
 */
export interface UserHooks {
  userChanged(userId: string): Promise<void>;
}

/** What the server does when a mail is waiting in the outbox (src/accounts/email-outbox.ts). */
export interface MailHooks {
  queued(): void;
}

/**
 * The subset of `Config` the account services read; the CLI builds one without a full server config. `workers`
 * (the processes sharing this machine's cores, 1 when absent) sizes the hashing threads.
 */
export type AccountsConfig = Pick<
  Config,
  | "server_name"
  | "bcrypt_rounds"
  | "password_config"
  | "allow_underscore_prefixed_localpart"
  | "registration_shared_secret"
> &
  Partial<Pick<Config, "workers" | "presence">>;

/**
 * `signingKeys` are the server's keys as read from its key file (non-empty, the signing key first). Left out, a key
 * is made for this context alone: for contexts whose signatures nobody checks against a published key (tests, the
 * CLI's database mode); `startServer` always passes the server's own.
 */
export function createAccountsContext(
  config: AccountsConfig,
  stores: Stores,
  now: () => number = Date.now,
  signingKeys: readonly SigningKey[] = [generateSigningKey()],
): AccountsContext {
  const signingKey = signingKeys[0];
  if (!signingKey) throw new Error("createAccountsContext: signingKeys is empty");
  const pool = sharedHashPool();
  pool.resize(hashingThreads(config.password_config.hashing_threads, config.workers ?? 1));
  setHashingThreads(pool.size);
  const sessionCache = new SessionCache();
  stores.onSessionsChanged(() => sessionCache.clear());
  const syncNotifier = new SyncNotifier();
  stores.onSyncChanged((userId) => syncNotifier.notifyUser(userId));
  return {
    serverName: config.server_name,
    sessionCache,
    lastSeen: new LastSeenThrottle(),
    syncNotifier,
    userHooks: { userChanged: async () => {} },
    mailHooks: { queued: () => {} },
    stores,
    hasher: new PasswordHasher(
      {
        algorithm: config.password_config.algorithm,
        bcryptRounds: config.bcrypt_rounds,
        pepper: config.password_config.pepper,
        argon2: config.password_config.argon2,
        queueLimit: config.password_config.hashing_queue_limit,
      },
      pool,
    ),
    usernameRules: {
      serverName: config.server_name,
      allowUnderscorePrefix: config.allow_underscore_prefixed_localpart,
    },
    passwordPolicy: config.password_config.policy,
    passwordChangeEnabled: config.password_config.enabled && config.password_config.localdb_enabled,
    sharedSecret: config.registration_shared_secret,
    now,
    signingKey,
    signingKeys,
    presenceEnabled: config.presence?.enabled ?? true,
    passwordProviders: [],
  };
}

/** What the client-facing account services need beyond the accounts context: the whole config and the limiter. */
export interface ServerContext {
  accounts: AccountsContext;
  config: Config;
  limiter: RateLimiter;
}
