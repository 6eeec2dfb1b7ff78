/**
 * @module The background jobs Gatehouse runs: each deletes what its service's rule says is spent, in batches.
 *
 * Media will add its own here. Names are the keys of `scheduled_jobs` rows, so they never change.
 */
import type { AccountsContext } from "../accounts/context.js";
import type { RateLimiter } from "../accounts/ratelimit.js";
import { purgeExpiredNonces } from "../accounts/shared-secret.js";
import {
  purgeExpiredAccessTokens,
  purgeExpiredLoginTokens,
  purgeSpentRefreshTokens,
} from "../accounts/token-expiry.js";
import { purgeExpiredSessions } from "../accounts/uia.js";
import { purgeUsedChallenges } from "../accounts/altcha.js";
import { purgeExpiredEventTxns, purgeExpiredToDeviceTxns } from "../sync/txn-expiry.js";
import type { MediaContext } from "../media/context.js";
import { purgeErasedUsersMedia, purgeExpiredUploads } from "../media/purge.js";
import { purgeUrlCache } from "../media/preview.js";
import { inBatches, type Job } from "./runner.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export function purgeJobs(accounts: AccountsContext, limiter: RateLimiter): Job[] {
  return [
    {
      // Synapse's `_expire_old_sessions` runs every 5 minutes; this one also gives back registration-token uses.
      name: "purge_ui_auth_sessions",
      intervalMs: 5 * MINUTE,
      run: (r) => inBatches(r, (n) => purgeExpiredSessions(accounts, n)),
    },
    {
      // Redeemed CAPTCHA challenges, once they have expired and their signature check refuses them anyway.
      name: "purge_captcha_challenges",
      intervalMs: 5 * MINUTE,
      run: (r) => inBatches(r, (n) => purgeUsedChallenges(accounts, n)),
    },
    {
      name: "purge_registration_nonces",
      intervalMs: 5 * MINUTE,
      run: (r) => inBatches(r, (n) => purgeExpiredNonces(accounts, n)),
    },
    {
      name: "purge_login_tokens",
      intervalMs: HOUR,
      run: (r) => inBatches(r, (n) => purgeExpiredLoginTokens(accounts, n)),
    },
    // Before the access tokens: the tokens issued with the refresh tokens it deletes become purgeable in this pass.
    {
      name: "purge_refresh_tokens",
      intervalMs: HOUR,
      run: (r) => inBatches(r, (n) => purgeSpentRefreshTokens(accounts, n)),
    },
    {
      name: "purge_access_tokens",
      intervalMs: HOUR,
      run: (r) => inBatches(r, (n) => purgeExpiredAccessTokens(accounts, n)),
    },
    {
      name: "purge_event_txns",
      intervalMs: HOUR,
      run: (r) => inBatches(r, (n) => purgeExpiredEventTxns(accounts, n)),
    },
    {
      name: "purge_to_device_txns",
      intervalMs: HOUR,
      run: (r) => inBatches(r, (n) => purgeExpiredToDeviceTxns(accounts, n)),
    },
    {
      name: "purge_ratelimit_buckets",
      intervalMs: MINUTE,
      run: (r) => inBatches(r, (n) => limiter.purge(n)),
    },
  ];
}

/**
 * The media repository's jobs. Files are deleted with their last row (src/media/blobs.ts), never deferred, so no
 * job sweeps files; these delete rows, and the files those rows named once unused.
 */
export function mediaJobs(media: MediaContext): Job[] {
  return [
    {
      // Async uploads whose content never came (`unused_expiration_time`, Synapse's default 24 h).
      name: "purge_expired_media_uploads",
      intervalMs: HOUR,
      run: (r) => inBatches(r, (n) => purgeExpiredUploads(media, n)),
    },
    {
      // Finishes the erasure of a deactivated user's media if it failed or was cut off (src/media/purge.ts).
      name: "purge_erased_users_media",
      intervalMs: HOUR,
      run: (r) => inBatches(r, (n) => purgeErasedUsersMedia(media, n), 200),
    },
    {
      // URL previews past their hour and the pages and images they fetched, two days on (src/media/preview.ts).
      name: "purge_url_cache",
      intervalMs: 10 * MINUTE,
      run: (r) => inBatches(r, (n) => purgeUrlCache(media, n)),
    },
  ];
}
