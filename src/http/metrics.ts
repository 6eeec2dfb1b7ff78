/**
 * @module Prometheus metrics in the text exposition format, written by hand: counters and histograms kept in this
 * process, gauges read when scraped, and a renderer that can merge several processes' snapshots (`serve --workers`)
 * under a `worker` label.
 *
 * Label values are bounded by construction: routes are fastify's route patterns (never raw URLs), methods and
 * statuses are few, so a scanner probing random paths adds one `route="unmatched"` series, not one per path.
 */

export type Labels = Record<string, string>;

export interface Sample {
  /** The full sample name: `x`, or `x_bucket`/`x_sum`/`x_count` for a histogram. */
  name: string;
  labels: Labels;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  samples: Sample[];
}

/** Plain data, so a worker can send it to the primary over the cluster IPC channel. */
export type Snapshot = Family[];

/** Seconds; a whoami is well under a millisecond, a registration (argon2id) tens of milliseconds. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function key(labels: Labels): string {
  return JSON.stringify(labels);
}

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    const entry = this.values.get(k);
    if (entry) entry.value += by;
    else this.values.set(k, { labels, value: by });
  }

  family(): Family {
    const samples = [...this.values.values()].map((e) => ({ name: this.name, labels: e.labels, value: e.value }));
    return { name: this.name, help: this.help, type: "counter", samples };
  }
}

class Histogram {
  private readonly series = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { labels, buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) s.buckets[i]!++;
    s.sum += value;
    s.count++;
  }

  family(): Family {
    const samples: Sample[] = [];
    for (const s of this.series.values()) {
      this.bounds.forEach((b, i) =>
        samples.push({ name: `${this.name}_bucket`, labels: { ...s.labels, le: String(b) }, value: s.buckets[i]! }),
      );
      samples.push({ name: `${this.name}_bucket`, labels: { ...s.labels, le: "+Inf" }, value: s.count });
      samples.push({ name: `${this.name}_sum`, labels: s.labels, value: s.sum });
      samples.push({ name: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: "histogram", samples };
  }
}

// One set per process: the services count into these whichever server (or test) called them.
const httpRequests = new Counter("gatehouse_http_requests_total", "HTTP requests answered, by route pattern");
const httpLatency = new Histogram(
  "gatehouse_http_request_duration_seconds",
  "Time from request to response, by route pattern",
  LATENCY_BUCKETS,
);
const registrations = new Counter("gatehouse_registrations_total", "Accounts created (registerUser)");
const logins = new Counter("gatehouse_password_logins_total", "Password checks by /login and UIA, by result");
let hashesInFlight = 0;
let hashingThreads = 0;

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
  hashesInFlight++;
  try {
    return await work;
  } finally {
    hashesInFlight--;
  }
}

/** The most hashing threads this process runs (`password_config.hashing_threads`, or its share of the cores). */
export function setHashingThreads(n: number): void {
  hashingThreads = n;
}

/** What a PostgreSQL pool reports; SQLite has no pool and reports nothing. */
export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

function gauge(name: string, help: string, samples: Array<[Labels, number]>): Family {
  return { name, help, type: "gauge", samples: samples.map(([labels, value]) => ({ name, labels, value })) };
}

/** Everything this process knows, read now. */
export function snapshot(pool: PoolStats | null): Snapshot {
  // Registered even at zero, so a dashboard sees the series before the first event.
  if (logins.family().samples.length === 0)
    for (const ok of [true, false]) logins.inc({ result: ok ? "ok" : "failed" }, 0);
  if (registrations.family().samples.length === 0) registrations.inc({}, 0);
  const families = [
    httpRequests.family(),
    httpLatency.family(),
    registrations.family(),
    logins.family(),
    gauge("gatehouse_password_hash_queue_depth", "Password hashes and verifies in flight or waiting for a thread", [
      [{}, hashesInFlight],
    ]),
    gauge("gatehouse_password_hashing_threads", "Threads this process may use to hash and verify passwords", [
      [{}, hashingThreads],
    ]),
  ];
  if (pool) {
    families.push(
      gauge("gatehouse_db_pool_connections", "PostgreSQL pool connections, by state", [
        [{ state: "total" }, pool.totalCount],
        [{ state: "idle" }, pool.idleCount],
      ]),
      gauge("gatehouse_db_pool_waiting", "Queries waiting for a PostgreSQL pool connection", [[{}, pool.waitingCount]]),
    );
  }
  return families;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Renders snapshots as one exposition: each family's HELP and TYPE once, then every process's samples. */
export function render(parts: Array<{ snapshot: Snapshot; labels?: Labels }>): string {
  const order: string[] = [];
  const byName = new Map<string, { family: Family; lines: string[] }>();
  for (const part of parts) {
    for (const family of part.snapshot) {
      let entry = byName.get(family.name);
      if (!entry) {
        entry = { family, lines: [] };
        byName.set(family.name, entry);
        order.push(family.name);
      }
      for (const s of family.samples) {
        const labels = { ...part.labels, ...s.labels };
        const text = Object.entries(labels)
          .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
          .join(",");
        entry.lines.push(`${s.name}${text ? `{${text}}` : ""} ${formatValue(s.value)}`);
      }
    }
  }
  const out: string[] = [];
  for (const name of order) {
    const { family, lines } = byName.get(name)!;
    out.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`, ...lines);
  }
  return out.join("\n") + "\n";
}

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const METRICS_PATH = "/_synapse/metrics";

/** `serve --workers` gives each worker a stable slot number (kept when a dead worker is replaced). */
export const WORKER_ENV = "GATEHOUSE_WORKER";

/** The `worker` label of this process's series, or none outside a cluster. */
export function workerLabels(): Labels {
  const slot = process.env[WORKER_ENV];
  return slot ? { worker: slot } : {};
}

/** This process's metrics, as one exposition. */
export function renderOwn(pool: PoolStats | null): string {
  return render([{ snapshot: snapshot(pool), labels: workerLabels() }]);
}
