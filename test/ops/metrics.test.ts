/**
 * Prometheus metrics on both databases, over real HTTP: off unless `enable_metrics`, served on a `type: metrics`
 * listener or a listener with the `metrics` resource, and counters that move by exactly what was done.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PasswordHasher } from "../../src/accounts/passwords.js";
import { createServerMetrics } from "../../src/metrics/metrics.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { registerShared } from "../helpers/register.js";
import { rawConfigFor, spawnServer, startTestServer, writeConfigFile, type TestServer } from "../helpers/server.js";
import { rawRequest } from "../api/support.js";
import { parseMetrics, sumOf, type ParsedSample } from "./support.js";

const LOCAL = { bind_addresses: ["127.0.0.1"] };
const CLIENT_AND_METRICS = { port: 0, ...LOCAL, type: "http", resources: [{ names: ["client", "metrics"] }] };

async function scrape(base: string): Promise<ParsedSample[]> {
  const r = await rawRequest({ base, path: "/_synapse/metrics" });
  expect(r.status, r.text).toBe(200);
  expect(r.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseMetrics(r.text);
}

async function login(base: string, user: string, password: string): Promise<number> {
  const r = await call(base, "POST", "/_matrix/client/v3/login", {
    json: { type: "m.login.password", identifier: { type: "m.id.user", user }, password },
  });
  return r.status;
}

forEachDatabase((kind) => {
  describe("metrics enabled", () => {
    let db: TestDatabase;
    let server: TestServer;
    let metricsUrl: string;
    beforeAll(async () => {
      db = await createTestDatabase(kind);
      server = await startTestServer(db, {
        enable_metrics: true,
        listeners: [CLIENT_AND_METRICS, { port: 0, ...LOCAL, type: "metrics" }],
      });
      metricsUrl = server.server.addresses[1]!.url;
    });
    afterAll(() => server.close());

    it("counts requests by route pattern, method and status, never by raw URL", async () => {
      const before = await scrape(metricsUrl);
      const route = { route: "/_matrix/client/v3/profile/:userId", method: "GET" };
      for (const who of ["@a:localhost", "@b:localhost", "@c:localhost"]) {
        expect((await call(server.url, "GET", `/_matrix/client/v3/profile/${who}`)).status).toBe(404);
      }
      for (let i = 0; i < 4; i++) await call(server.url, "GET", `/no/such/path/${i}`);
      const after = await scrape(metricsUrl);
      const name = "gatehouse_http_requests_total";
      expect(sumOf(after, name, { ...route, status: "404" }) - sumOf(before, name, { ...route, status: "404" })).toBe(
        3,
      );
      expect(sumOf(after, name, { route: "unmatched" }) - sumOf(before, name, { route: "unmatched" })).toBe(4);
      expect(after.some((s) => s.labels.route?.includes("@a:localhost") || s.labels.route?.includes("/no/such"))).toBe(
        false,
      );
      const count = "gatehouse_http_request_duration_seconds_count";
      expect(sumOf(after, count, route) - sumOf(before, count, route)).toBe(3);
      const inf = sumOf(after, "gatehouse_http_request_duration_seconds_bucket", { ...route, le: "+Inf" });
      expect(inf).toBe(sumOf(after, count, route));
    });

    it("counts registrations and password logins, ok and failed", async () => {
      const before = await scrape(metricsUrl);
      const user = `metrics_${kind}`;
      expect((await registerShared(server.url, { username: user, password: "right-pw" })).status).toBe(200);
      expect(await login(server.url, user, "right-pw")).toBe(200);
      expect(await login(server.url, user, "right-pw")).toBe(200);
      expect(await login(server.url, user, "wrong-pw")).toBe(403);
      expect(await login(server.url, "nobody_here", "pw")).toBe(403);
      const after = await scrape(metricsUrl);
      const delta = (name: string, where: Record<string, string> = {}) =>
        sumOf(after, name, where) - sumOf(before, name, where);
      expect(delta("gatehouse_registrations_total")).toBe(1);
      expect(delta("gatehouse_password_logins_total", { result: "ok" })).toBe(2);
      expect(delta("gatehouse_password_logins_total", { result: "failed" })).toBe(2);
    });

    it("reports the PostgreSQL pool, and no pool for SQLite", async () => {
      const samples = await scrape(metricsUrl);
      const total = samples.find((s) => s.name === "gatehouse_db_pool_connections" && s.labels.state === "total");
      if (kind === "postgres") {
        expect(total!.value).toBeGreaterThanOrEqual(1);
        expect(samples.some((s) => s.name === "gatehouse_db_pool_waiting")).toBe(true);
      } else {
        expect(total).toBeUndefined();
      }
      expect(sumOf(samples, "gatehouse_password_hash_queue_depth")).toBe(0);
    });

    it("reports Node's process metrics: CPU, memory, event-loop lag", async () => {
      const samples = await scrape(metricsUrl);
      for (const name of [
        "process_cpu_user_seconds_total",
        "process_resident_memory_bytes",
        "nodejs_heap_size_used_bytes",
      ])
        expect(sumOf(samples, name), name).toBeGreaterThan(0);
      expect(samples.some((s) => s.name === "nodejs_eventloop_lag_seconds")).toBe(true);
      expect(samples.some((s) => s.name === "nodejs_eventloop_lag_p99_seconds")).toBe(true);
    });

    it("serves the same text on a client listener that lists the metrics resource", async () => {
      const samples = await scrape(server.url);
      expect(samples.some((s) => s.name === "gatehouse_registrations_total")).toBe(true);
    });

    it("the metrics listener serves nothing else", async () => {
      const r = await rawRequest({ base: metricsUrl, path: "/_matrix/client/versions" });
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
    });
  });
});

describe("metrics off", () => {
  it("by default: no metrics listener is opened and the path is unrecognised", async () => {
    const db = await createTestDatabase("sqlite");
    // A Synapse config may carry a metrics listener and resource without enable_metrics; neither serves anything.
    const proc = await spawnServer([
      "-c",
      writeConfigFile(rawConfigFor(db, { listeners: [CLIENT_AND_METRICS, { port: 0, ...LOCAL, type: "metrics" }] })),
    ]);
    try {
      expect(proc.stdout()).toMatch(/ on http:\/\/127\.0\.0\.1:\d+\n/); // One address: the metrics one is not open.
      expect(proc.stderr()).toContain("a listener has type: metrics but enable_metrics is not true");
      const r = await rawRequest({ base: proc.url, path: "/_synapse/metrics" });
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
    } finally {
      expect(await proc.stop()).toBe(0);
    }
  });

  it("on a listener without the metrics resource, even when enabled", async () => {
    const db = await createTestDatabase("sqlite");
    const server = await startTestServer(db, { enable_metrics: true });
    try {
      const r = await rawRequest({ base: server.url, path: "/_synapse/metrics" });
      expect(r.status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe("password hashing queue depth", () => {
  it("counts hashes started and not yet finished", async () => {
    const hasher = new PasswordHasher({ algorithm: "argon2id", bcryptRounds: 4, pepper: "" });
    const metrics = createServerMetrics(null);
    // Read in microtasks only: no hash can finish in between (a hashing thread's answer is a later event).
    const depth = async () => sumOf(parseMetrics(await metrics.text()), "gatehouse_password_hash_queue_depth");
    const start = await depth();
    const work = [
      hasher.hash("a"),
      hasher.hash("b"),
      hasher.verify("c", "$2b$04$invalidinvalidinvalidinvalidinvalidinvalidinvalidinva"),
    ];
    expect(await depth()).toBe(start + 3);
    await Promise.all(work.map((p) => p.catch(() => null)));
    expect(await depth()).toBe(start);
  });
});

describe("hashing threads", () => {
  it("password_config.hashing_threads is what a server process runs, and reports", async () => {
    const db = await createTestDatabase("sqlite");
    const raw = rawConfigFor(db, {
      enable_metrics: true,
      listeners: [CLIENT_AND_METRICS],
      password_config: { hashing_threads: 3 },
    });
    const proc = await spawnServer(["-c", writeConfigFile(raw)]);
    try {
      expect((await registerShared(proc.url, { username: "threads", password: "pw-threads" })).status).toBe(200);
      expect(await login(proc.url, "threads", "pw-threads")).toBe(200);
      expect(sumOf(await scrape(proc.url), "gatehouse_password_hashing_threads")).toBe(3);
    } finally {
      expect(await proc.stop()).toBe(0);
    }
  });
});
