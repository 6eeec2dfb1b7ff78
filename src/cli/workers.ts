/**
 * @module `gatehouse serve --workers N`: a node:cluster primary that migrates once, forks N workers sharing the
 * listeners, replaces a worker that dies, merges the workers' metrics, and on SIGTERM/SIGINT lets every worker
 * finish its requests in flight before exiting 0.
 *
 * The primary serves no client request; it holds the listening sockets and hands each new connection to a worker
 * in turn (node's round-robin scheduling), so one slow worker does not starve the others of connections.
 */
import cluster, { type Worker } from "node:cluster";
import type { Config } from "../config/schema.js";
import { removeStaleSocket, startMetricsListener, closeListeners, type BoundAddress } from "../http/listeners.js";
import { clusterText, WORKER_ENV, type MetricsJson } from "../metrics/metrics.js";
import { checkServerName, openAndMigrate, type RunningServer } from "../server.js";
import { CliError, EXIT_USAGE } from "./errors.js";

/** Messages between the primary and its workers over the cluster IPC channel. */
type ToPrimary =
  { type: "hello" } | { type: "ready"; urls: string[] } | { type: "metrics"; id: number; metrics: MetricsJson };
type ToWorker = { type: "config"; config: Config } | { type: "metrics"; id: number };

/** A worker that keeps dying is restarted ever more slowly, up to this; one that lived a minute starts afresh. */
const MAX_BACKOFF_MS = 30_000;
const FIRST_BACKOFF_MS = 250;
const STABLE_AFTER_MS = 60_000;
/** A scrape that waits longer than this for a worker reports the others. */
const METRICS_WAIT_MS = 2_000;

export interface ClusterOptions {
  config: Config;
  workers: number;
  log: (line: string) => void;
  /** Printed once, when every worker listens: the addresses, and whether the database has accounts yet. */
  announce: (urls: string[], userCount: number | null) => void;
}

/** Refuses what a cluster cannot run; called before anything is started. */
export function checkClusterConfig(config: Config, workers: number): void {
  if (workers > 1 && config.database.name === "sqlite3") {
    throw new CliError(
      `error: --workers ${workers} needs PostgreSQL; SQLite serves one process (use --workers 1 or move to PostgreSQL)`,
      EXIT_USAGE,
    );
  }
}

/** Runs the primary until a stop signal has been handled; resolves with the exit code. */
export async function runPrimary(options: ClusterOptions): Promise<number> {
  const { config, workers, log } = options;
  checkClusterConfig(config, workers);

  // Once, here: N workers migrating at start would race for the schema lock for no gain.
  const { db, stores } = await openAndMigrate(config);
  let userCount: number;
  try {
    await checkServerName(stores, config.server_name);
    userCount = await stores.users.count();
  } finally {
    await db.close();
  }
  // The primary binds UNIX sockets for the workers; a file left by a crash would make that fail.
  for (const l of config.listeners) if (l.type === "http" && l.path !== null) removeStaleSocket(l.path);

  // Set by the signal handlers, which can run during any await below: typed `boolean` so that the check after
  // `await startup` is not narrowed to `false` (the compiler does not see assignments made in callbacks).
  let stopping = false as boolean;
  const slots = new Map<number, Worker>();
  const failures = new Map<number, { count: number }>();
  const restartTimers = new Set<NodeJS.Timeout>();
  const pendingScrapes = new Map<number, (m: MetricsJson) => void>();
  let nextScrape = 1;
  let startupDone = false;
  let resolveStartup!: (urls: string[]) => void;
  let rejectStartup!: (err: Error) => void;
  const startup = new Promise<string[]>((res, rej) => {
    resolveStartup = res;
    rejectStartup = rej;
  });
  const ready = new Set<number>();
  const metricsBound: BoundAddress[] = [];

  const fork = (slot: number) => {
    const startedAt = Date.now();
    const worker = cluster.fork({ [WORKER_ENV]: String(slot) });
    slots.set(slot, worker);
    // A send to a worker that has just died fails with an 'error' event; unheard, it would end the primary. The
    // 'exit' that follows is what counts.
    worker.on("error", () => {});
    worker.on("message", (m: ToPrimary) => {
      // The configuration the primary validated, not the files as they are now: a worker replaced after an edit
      // on disk must run what its siblings run (a changed config takes a restart of the whole service).
      if (m.type === "hello") worker.send({ type: "config", config: { ...config, workers } } satisfies ToWorker);
      else if (m.type === "ready") {
        if (startupDone) log(`worker ${slot} replaced: pid ${worker.process.pid} is serving`);
        ready.add(slot);
        if (!startupDone && ready.size === workers) {
          startupDone = true;
          resolveStartup(m.urls);
        }
      } else {
        pendingScrapes.get(m.id)?.(m.metrics);
      }
    });
    worker.on("exit", (code, signal) => {
      if (slots.get(slot) === worker) slots.delete(slot);
      if (stopping) return;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (!startupDone) {
        rejectStartup(new Error(`worker ${slot} exited with ${how} while starting`));
        return;
      }
      const f = failures.get(slot) ?? { count: 0 };
      if (Date.now() - startedAt > STABLE_AFTER_MS) f.count = 0;
      const delay = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** f.count);
      f.count++;
      failures.set(slot, f);
      log(`worker ${slot} (pid ${worker.process.pid}) exited with ${how}; starting a new one in ${delay} ms`);
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!stopping) fork(slot);
      }, delay);
      restartTimers.add(timer);
    });
  };

  const stopWorkers = async (): Promise<boolean> => {
    stopping = true;
    for (const t of restartTimers) clearTimeout(t);
    const exits = [...slots.values()].map(
      (w) =>
        new Promise<boolean>((resolve) => {
          if (w.process.exitCode !== null || w.process.signalCode !== null) {
            resolve(w.process.exitCode === 0);
            return;
          }
          w.once("exit", (code) => resolve(code === 0));
          w.process.kill("SIGTERM");
        }),
    );
    return (await Promise.all(exits)).every(Boolean);
  };

  /**
   * Asks every live worker for its numbers (each labelled with its slot by the worker) and merges them. Over this
   * IPC rather than prom-client's `clusterMetrics()`, which fails the whole scrape when one worker does not answer:
   * a stuck worker is when the others' numbers matter most.
   */
  const scrape = async (): Promise<string> => {
    const id = nextScrape++;
    const live = [...slots.values()].filter((w) => w.isConnected());
    const got: MetricsJson[] = [];
    await new Promise<void>((resolve) => {
      let left = live.length;
      if (left === 0) {
        resolve();
        return;
      }
      const timer = setTimeout(resolve, METRICS_WAIT_MS);
      pendingScrapes.set(id, (metrics) => {
        got.push(metrics);
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      for (const w of live) w.send({ type: "metrics", id } satisfies ToWorker);
    });
    pendingScrapes.delete(id);
    return clusterText(got);
  };

  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      if (stopping) return;
      log(`${signal}: stopping ${slots.size} workers after their requests in flight`);
      void stopWorkers().then(async (clean) => {
        await closeListeners(metricsBound);
        resolve(clean ? 0 : 1);
      });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });

  for (let slot = 1; slot <= workers; slot++) fork(slot);
  let urls: string[];
  try {
    urls = await startup;
  } catch (err) {
    await stopWorkers();
    throw err;
  }
  if (stopping) return stopped;
  if (config.enable_metrics) {
    for (const l of config.listeners)
      if (l.type === "metrics")
        metricsBound.push(...(await startMetricsListener(l, scrape, (m) => log(`warning: ${m}`))));
  }
  options.announce([...urls, ...metricsBound.map((b) => b.url)], userCount);
  log(`${workers} worker processes: pids ${[...slots.values()].map((w) => w.process.pid).join(", ")}`);
  return stopped;
}

/** In a worker: the configuration, from the primary. */
export function configFromPrimary(): Promise<Config> {
  return new Promise((resolve) => {
    const onMessage = (m: ToWorker) => {
      if (m.type !== "config") return;
      process.off("message", onMessage);
      resolve(m.config);
    };
    process.on("message", onMessage);
    process.send?.({ type: "hello" } satisfies ToPrimary);
  });
}

/** In a worker: tell the primary where it listens, and answer its scrapes with this process's numbers. */
export function serveAsWorker(server: RunningServer): void {
  const send = (m: ToPrimary) => process.send?.(m);
  process.on("message", (m: ToWorker) => {
    if (m.type !== "metrics") return;
    // An answer either way, so the primary's scrape does not wait out its timeout for this worker.
    server.metrics.json().then(
      (metrics) => send({ type: "metrics", id: m.id, metrics }),
      () => send({ type: "metrics", id: m.id, metrics: [] }),
    );
  });
  send({ type: "ready", urls: server.addresses.map((a) => a.url) });
}

export const isWorker = (): boolean => cluster.isWorker;
