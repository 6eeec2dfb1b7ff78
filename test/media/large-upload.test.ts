/**
 * A 200 MB upload streams to disk: the server's memory stays flat (peak RSS sampled during the upload, against
 * the process's own before-figure), and the file that lands is the bytes sent. SQLite only: the bytes never go
 * near the database, which sees one row either way.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { NO_LIMITS, registerUser, type ClientUser } from "../api/sync-support.js";
import { createTestDatabase } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const SIZE = 200 * 1024 * 1024;
const CHUNK = 256 * 1024;

let server: TestServer;
let alice: ClientUser;

beforeAll(async () => {
  server = await startTestServer(await createTestDatabase("sqlite"), {
    enable_registration: true,
    enable_registration_without_verification: true,
    ...NO_LIMITS,
    max_upload_size: "300M",
  });
  alice = await registerUser(server.url, "alice");
}, 60_000);
afterAll(() => server.close());

it("a 200 MB upload keeps memory flat and stores every byte", async () => {
  const chunk = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i++) chunk[i] = (i * 31) & 0xff;
  const hash = createHash("sha256");
  let sent = 0;
  // The same chunk object each time (its bytes never change), so the client side makes no garbage to measure.
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= SIZE) {
        controller.close();
        return;
      }
      hash.update(chunk);
      sent += CHUNK;
      controller.enqueue(chunk);
    },
  });
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const r = await fetch(`${server.url}/_matrix/media/v3/upload?filename=big.bin`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/octet-stream" },
      body,
      duplex: "half",
    });
    expect(r.status, await r.clone().text()).toBe(200);
    const { content_uri } = (await r.json()) as { content_uri: string };
    const row = await server.server.media.stores.localMedia.get(content_uri.split("/").pop() ?? "");
    expect(row).toMatchObject({ mediaLength: SIZE, sha256: hash.digest("hex") });
  } finally {
    clearInterval(sampler);
  }
  // Buffering the body would take 200 MB; streaming takes a few buffers' worth, plus what the garbage collector
  // has not yet taken back of the socket's chunks (the client is in this process too): 65 MB once on Node 24.
  expect(peak - before, `RSS ${before >> 20} MB → peak ${peak >> 20} MB`).toBeLessThan(100 * 1024 * 1024);
}, 300_000);
