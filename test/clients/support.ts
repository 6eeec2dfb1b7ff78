/**
 * What the real-client tests share: a test server with the validating proxy in front of it, so the client under
 * test talks to the proxy and every response it gets is checked against the Matrix spec on the way.
 */
import { expect } from "vitest";
import type { RawConfig } from "../../src/config/validate.js";
import { NO_LIMITS } from "../api/client-support.js";
import { createTestDatabase, type DatabaseKind } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { startValidatingProxy, type ValidatingProxy } from "../helpers/validating-proxy.js";

/** Generous: these tests run real clients on a loaded 2-core machine. */
export const CLIENT_TEST_TIMEOUT = 120_000;

export interface ProxiedServer {
  server: TestServer;
  proxy: ValidatingProxy;
  /** Where the client under test is pointed: the proxy. */
  url: string;
  close(): Promise<void>;
}

export async function startProxiedServer(kind: DatabaseKind, overrides: RawConfig = {}): Promise<ProxiedServer> {
  const server = await startTestServer(await createTestDatabase(kind), { ...NO_LIMITS, ...overrides });
  const proxy = await startValidatingProxy(server.url);
  return {
    server,
    proxy,
    url: proxy.url,
    async close() {
      await proxy.close();
      await server.close();
    },
  };
}

/** Asserts the proxy found nothing off-spec so far (after every validation has finished). */
export async function expectNoSpecMismatches(proxy: ValidatingProxy): Promise<void> {
  await proxy.settled();
  expect(proxy.mismatches, proxy.mismatches.join("\n\n")).toEqual([]);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
