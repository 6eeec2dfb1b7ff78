/**
 * @module Starts a Gatehouse server from a loaded configuration: database, migrations, services, listeners.
 */
import type { FastifyInstance } from "fastify";
import { createAccountsContext, type AccountsContext } from "./accounts/context.js";
import { RateLimiter } from "./accounts/ratelimit.js";
import { createRoomsContext, type RoomsContext } from "./rooms/context.js";
import { createMediaContext, type MediaContext } from "./media/context.js";
import { rateLimitBucketsStore } from "./db/ratelimit-buckets.js";
import { startProcessNotices, type ProcessNotices } from "./process-notices.js";
import { ROUTES } from "./api/routes.js";
import type { Config } from "./config/schema.js";
import { migrate, openDatabase, type Db } from "./db/database.js";
import { scheduledJobsStore } from "./db/scheduled-jobs.js";
import { createStores, type Stores } from "./db/stores.js";
import { closeListeners, startListeners, type BoundAddress, type MetricsSource } from "./http/listeners.js";
import { buildHttpApp } from "./http/server.js";
import { mediaJobs, purgeJobs } from "./jobs/purges.js";
import { eraseMediaOnDeactivation } from "./media/purge.js";
import { startAccessFlush } from "./media/access.js";
import { JobRunner } from "./jobs/runner.js";
import { emailJobs, SEND_EMAIL_JOB } from "./jobs/email.js";
import { smtpMailer } from "./accounts/mailer.js";
import { LiveSweeps } from "./jobs/live-sweeps.js";
import { createServerMetrics, type ServerMetrics } from "./metrics/metrics.js";
import { loadOrCreateSigningKeys } from "./config/signing-key.js";
import { generateSigningKey, type SigningKey } from "./matrix/signing.js";
import { passwordProvidersFor } from "./auth-providers/ldap.js";

export interface RunningServer {
  config: Config;
  app: FastifyInstance;
  db: Db;
  accounts: AccountsContext;
  rooms: RoomsContext;
  media: MediaContext;
  /** What this server reports at `/_synapse/metrics` (and, in a cluster worker, sends the primary). */
  metrics: ServerMetrics;
  addresses: BoundAddress[];
  /** The background jobs of this process; null when `background_jobs.enabled` is false. */
  jobs: JobRunner | null;
  close(): Promise<void>;
}

export class ServerNameMismatchError extends Error {}

/** Records the server name on first start and refuses a database that belongs to another server. */
export async function checkServerName(stores: Stores, serverName: string): Promise<void> {
  const stored = await stores.serverMeta.setIfAbsent("server_name", serverName);
  if (stored !== serverName) {
    throw new ServerNameMismatchError(
      `this database belongs to server_name ${JSON.stringify(stored)}, but the configuration says ` +
        `${JSON.stringify(serverName)}; user IDs cannot change, so use the original server_name`,
    );
  }
}

/** Opens the database and brings its schema up to date; shared by `serve`, `migrate` and the CLI's direct mode. */
export async function openAndMigrate(config: Pick<Config, "database">): Promise<{ db: Db; stores: Stores }> {
  const db = openDatabase(config.database);
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return { db, stores: createStores(db) };
}

export interface StartOptions {
  /** False in a `serve --workers` worker: the primary has migrated once, before forking. */
  migrate?: boolean;
  /** Text for `type: metrics` listeners; null when the cluster primary opens them instead. */
  metrics?: MetricsSource;
  /** The account services' clock (`AccountsContext.now`), so tests can pass an expiry without waiting for it. */
  now?: () => number;
  /**
   * The server's signing keys, already read (`serve` reads them before anything else, to report a bad key file
   * first). Left out: read from `signing_key_path`, the file created if missing; with no path (a config built
   * without files, as tests build them), a key made for this server alone.
   */
  signingKeys?: SigningKey[];
}

/** The keys `startServer` signs with when `StartOptions.signingKeys` does not give them. */
function signingKeysFor(config: Config): SigningKey[] {
  if (config.signing_key_path === null) return [generateSigningKey()];
  return loadOrCreateSigningKeys(config.signing_key_path).keys;
}

export async function startServer(
  config: Config,
  warn: (message: string) => void,
  options: StartOptions = {},
): Promise<RunningServer> {
  // Before the database: a bad key file stops the start with nothing opened.
  const signingKeys = options.signingKeys ?? signingKeysFor(config);
  const opened = options.migrate === false ? openDatabase(config.database) : null;
  const { db, stores } = opened ? { db: opened, stores: createStores(opened) } : await openAndMigrate(config);
  let app: FastifyInstance | null = null;
  let notices: ProcessNotices | null = null;
  try {
    await checkServerName(stores, config.server_name);
    const accounts = createAccountsContext(config, stores, options.now, signingKeys);
    const limiter = new RateLimiter(rateLimitBucketsStore(db), undefined, stores.ratelimitOverrides);
    const rooms = createRoomsContext(accounts, accounts.signingKey, config, limiter);
    const media = createMediaContext(accounts, config);
    eraseMediaOnDeactivation(media, warn);
    const accessFlush = startAccessFlush(media, warn);
    const processNotices = (notices = startProcessNotices(config, db, accounts));
    const metrics = createServerMetrics(db.pool ?? null);
    const longPolls = new Set<AbortController>();
    const httpApp = (app = buildHttpApp({ config, accounts, rooms, media, limiter, metrics, longPolls }, ROUTES));
    accounts.passwordProviders = passwordProvidersFor(config, (m) => httpApp.log.warn(m));
    const addresses = await startListeners(
      app,
      config,
      warn,
      options.metrics !== undefined ? options.metrics : metrics.text,
    );
    const mailer = config.email ? smtpMailer(config.email) : null;
    const mailJobs =
      mailer && config.email ? emailJobs(accounts, mailer, config.email.send_attempts, (m) => httpApp.log.warn(m)) : [];
    // Every process runs the jobs (each `--workers` worker too); the lease in `scheduled_jobs` lets one run each.
    const jobs = config.background_jobs.enabled
      ? new JobRunner([...purgeJobs(accounts, limiter), ...mediaJobs(media), ...mailJobs], {
          store: scheduledJobsStore(db.kysely),
          now: accounts.now,
          log: (m) => httpApp.log.warn(m),
        })
      : null;
    jobs?.start();
    if (jobs && mailer) {
      accounts.mailHooks.queued = () => {
        jobs.wake(SEND_EMAIL_JOB).catch((err: unknown) => httpApp.log.warn(`e-mail: ${String(err)}`));
      };
    }
    const sweeps = new LiveSweeps(accounts, (m) => httpApp.log.warn(m));
    sweeps.start();
    const running: RunningServer = {
      config,
      app,
      db,
      accounts,
      rooms,
      media,
      metrics,
      addresses,
      jobs,
      async close() {
        // Asked first: a purge in progress ends at its next batch, while the database is still open.
        const jobsStopped = jobs?.stop();
        // A held /sync would otherwise keep its connection (and this close) open for up to its timeout.
        for (const controller of longPolls) controller.abort();
        await closeListeners(addresses);
        await running.app.close();
        await processNotices.close();
        await jobsStopped;
        mailer?.close();
        await sweeps.stop();
        await accessFlush.stop();
        await db.close();
      },
    };
    return running;
  } catch (err) {
    await app?.close();
    await notices?.close();
    await db.close();
    throw err;
  }
}
