/**
 * `GET /health` on both databases: 200 "OK" while the database answers, 503 once it does not; on every listener,
 * whatever its resources; never rate limited; and not in the info log a probe every second would flood.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../helpers/databases.js";
import { call } from "../helpers/http.js";
import { rawConfigFor, spawnServer, startTestServer, writeConfigFile, type TestServer } from "../helpers/server.js";
import { waitFor } from "../api/support.js";

forEachDatabase((kind) => {
  describe("GET /health", () => {
    let db: TestDatabase;
    let server: TestServer;
    beforeAll(async () => {
      db = await createTestDatabase(kind);
      server = await startTestServer(db, {
        listeners: [
          { port: 0, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client"] }] },
          // No resources at all: Synapse answers /health on every listener, and so do we.
          { port: 0, bind_addresses: ["127.0.0.1"], type: "http", resources: [] },
        ],
      });
    });
    afterAll(async () => {
      await server.close().catch(() => {});
    });

    it("answers 200 OK as plain text, uncached, on every listener", async () => {
      for (const address of server.server.addresses) {
        const r = await call(address.url, "GET", "/health");
        expect(r.status).toBe(200);
        expect(r.text).toBe("OK");
        expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
        expect(r.headers.get("cache-control")).toBe("no-store");
      }
    });

    it("is not rate limited: a burst of probes all succeed", async () => {
      const results = await Promise.all(Array.from({ length: 200 }, () => call(server.url, "GET", "/health")));
      expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    });

    it("answers 503 once the database does not answer", async () => {
      await server.server.db.close();
      const r = await call(server.url, "GET", "/health");
      expect(r.status).toBe(503);
      expect(r.text).toBe("Database unavailable");
    });
  });
});

describe("GET /health in the log", () => {
  it("is not logged at info, while other requests are", async () => {
    const db = await createTestDatabase("sqlite");
    const proc = await spawnServer(["-c", writeConfigFile(rawConfigFor(db, { log_level: "info" }))]);
    try {
      expect((await call(proc.url, "GET", "/health")).status).toBe(200);
      expect((await call(proc.url, "GET", "/_matrix/client/versions")).status).toBe(200);
      const out = await waitFor(proc.stdout, (o) => o.includes("/_matrix/client/versions"));
      expect(out).toContain("/_matrix/client/versions");
      expect(out).not.toContain("/health");
    } finally {
      expect(await proc.stop()).toBe(0);
    }
  });
});
