/**
 * @module Prometheus metrics on prom-client: this process's counters, histograms and gauges, Node's own process
 * metrics (CPU, memory, event-loop lag, garbage collection), and the merge of every worker's numbers for
 * `serve --workers`. Neutral ground: the services count into it and the HTTP layer serves it, neither importing the
 * other.
 *
 * Label values are bounded by construction: routes are fastify's route patterns (never raw URLs), methods and
 * statuses are few, so a scanner probing random paths adds one `route="unmatched"` series, not one per path.
 */
import {
  AggregatorRegistry,
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type MetricObjectWithValues,
  type MetricValue,
} from "prom-client";

/** One process's metrics as data: what a worker sends the primary over the cluster IPC channel. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Seconds; a whoami is well under a millisecond, a registration (argon2id) tens of milliseconds. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// Per process, not per server: Prometheus scrapes processes, and the services count into these whichever server
// (or test) called them. Tests read differences, never absolute values.
const counted = new Registry();
const httpRequests = new Counter({
  name: "gatehouse_http_requests_total",
  help: "HTTP requests answered, by route pattern",
  labelNames: ["method", "route", "status"],
  registers: [counted],
});
const httpLatency = new Histogram({
  name: "gatehouse_http_request_duration_seconds",
  help: "Time from request to response, by route pattern",
  labelNames: ["method", "route"],
  buckets: LATENCY_BUCKETS,
  registers: [counted],
});
const registrations = new Counter({
  name: "gatehouse_registrations_total",
  help: "Accounts created (registerUser)",
  registers: [counted],
});
const logins = new Counter({
  name: "gatehouse_password_logins_total",
  help: "Password checks by /login and UIA, by result",
  labelNames: ["result"],
  registers: [counted],
});
// Present at zero, so a dashboard sees the series before the first event.
logins.inc({ result: "ok" }, 0);
logins.inc({ result: "failed" }, 0);
const hashQueueDepth = new Gauge({
  name: "gatehouse_password_hash_queue_depth",
  help: "Password hashes and verifies in flight or waiting for a thread",
  registers: [counted],
});
const hashingThreads = new Gauge({
  name: "gatehouse_password_hashing_threads",
  help: "Threads this process may use to hash and verify passwords",
  registers: [counted],
});

/** Node's process metrics, started on first use: a CLI command that never serves has no use for them. */
let runtime: Registry | null = null;
function runtimeRegistry(): Registry {
  if (!runtime) {
    runtime = new Registry();
    collectDefaultMetrics({ register: runtime });
  }
  return runtime;
}

export function countRequest(method: string, route: string, status: number, seconds: number): void {
  httpRequests.inc({ method, route, status: String(status) });
  httpLatency.observe({ method, route }, seconds);
}

export function countRegistration(): void {
  registrations.inc();
}

export function countLogin(ok: boolean): void {
  logins.inc({ result: ok ? "ok" : "failed" });
}

/** Wraps one hash or verify, from the moment it is asked for: those running on a hashing thread and those waiting. */
export async function trackHash<T>(work: Promise<T>): Promise<T> {
  hashQueueDepth.inc();
  try {
    return await work;
  } finally {
    hashQueueDepth.dec();
  }
}

/** The most hashing threads this process runs (`password_config.hashing_threads`, or its share of the cores). */
export function setHashingThreads(n: number): void {
  hashingThreads.set(n);
}

/** What a PostgreSQL pool reports; SQLite has no pool and reports nothing. */
export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** `serve --workers` gives each worker a stable slot number (kept when a dead worker is replaced). */
export const WORKER_ENV = "GATEHOUSE_WORKER";

/** The `worker` label of this process's series, or none outside a cluster. */
function workerLabels(): Record<string, string> {
  const slot = process.env[WORKER_ENV];
  return slot ? { worker: slot } : {};
}

/** What one server reports: the process's numbers and its own database pool. */
export interface ServerMetrics {
  /** The exposition, as served at `/_synapse/metrics`. */
  text: () => Promise<string>;
  /** The same numbers as data, for the cluster primary to merge. */
  json: () => Promise<MetricsJson>;
}

function serving(registry: Registry): ServerMetrics {
  return { text: () => registry.metrics(), json: () => registry.getMetricsAsJSON() };
}

/** The metrics of a server whose database has `pool` (null for SQLite), read when scraped. */
export function createServerMetrics(pool: PoolStats | null): ServerMetrics {
  const own = new Registry();
  if (pool) {
    new Gauge({
      name: "gatehouse_db_pool_connections",
      help: "PostgreSQL pool connections, by state",
      labelNames: ["state"],
      registers: [own],
      collect() {
        this.set({ state: "total" }, pool.totalCount);
        this.set({ state: "idle" }, pool.idleCount);
      },
    });
    new Gauge({
      name: "gatehouse_db_pool_waiting",
      help: "Queries waiting for a PostgreSQL pool connection",
      registers: [own],
      collect() {
        this.set(pool.waitingCount);
      },
    });
  }
  const registry = Registry.merge([counted, runtimeRegistry(), own]);
  registry.setDefaultLabels(workerLabels());
  return serving(registry);
}

/**
 * The cluster primary's exposition: every worker's numbers, each series under its `worker` label, and the
 * primary's own process metrics under `worker="primary"` (it holds the sockets: its event-loop lag delays every
 * connection). It counts no requests, so it reports none of the `gatehouse_*` series.
 */
export async function clusterText(workers: MetricsJson[]): Promise<string> {
  const primary = Registry.merge([runtimeRegistry()]);
  primary.setDefaultLabels({ worker: "primary" });
  const all = [...workers, await primary.getMetricsAsJSON()];
  // Every series carries its process's `worker` label, so no two ever merge and summing only lists them; the
  // per-metric defaults would drop some (process_start_time_seconds is "omit") or keep one process's value.
  for (const metrics of all) for (const m of metrics) m.aggregator = "sum";
  return AggregatorRegistry.aggregate(all).metrics();
}
