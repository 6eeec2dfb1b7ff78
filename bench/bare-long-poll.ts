/**
 * The floor of the delivery figure: a server that does nothing but hold long-polls and answer them, on `node:http`
 * in a process of its own as Gatehouse is. No database, no authentication (the bearer token is taken as the user
 * ID), no filter, no per-user work: `PUT …/send/…/{txn}` appends the body to one list and answers every held
 * `GET …/sync?since=sN` with what came after N, in `/sync`'s shape, so `bench/rooms.ts` drives it exactly as it
 * drives Gatehouse. What is left of the latency is this machine's HTTP and the benchmark's own 200 clients.
 *
 * Run by `bareLongPollServer()` below; prints its URL on its first line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

interface Sent {
  type: string;
  sender: string;
  content: unknown;
}

function serve(): void {
  const sent: { roomId: string; event: Sent }[] = [];
  const held = new Set<{ since: number; res: ServerResponse }>();
  const answer = (since: number, res: ServerResponse) => {
    const join: Record<string, { timeline: { events: Sent[] } }> = {};
    for (const { roomId, event } of sent.slice(since))
      (join[roomId] ??= { timeline: { events: [] } }).timeline.events.push(event);
    const body = JSON.stringify({ next_batch: `s${sent.length}`, rooms: { join } });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://bare");
    const sender = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const send = /\/rooms\/([^/]+)\/send\/([^/]+)\//.exec(url.pathname);
      if (req.method === "PUT" && send) {
        const content: unknown = JSON.parse(Buffer.concat(chunks).toString());
        sent.push({
          roomId: decodeURIComponent(send[1]!),
          event: { type: decodeURIComponent(send[2]!), sender, content },
        });
        const body = JSON.stringify({ event_id: `$${sent.length}` });
        res.writeHead(200, { "content-type": "application/json" }).end(body);
        for (const h of held) answer(h.since, h.res);
        held.clear();
        return;
      }
      const since = Number(/^s(\d+)$/.exec(url.searchParams.get("since") ?? "")?.[1] ?? sent.length);
      if (since < sent.length || url.searchParams.get("timeout") === "0") {
        answer(since, res);
        return;
      }
      const h = { since, res };
      held.add(h);
      res.on("close", () => held.delete(h));
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    if (address && typeof address === "object") console.log(`http://127.0.0.1:${address.port}`);
  });
  process.on("SIGTERM", () => process.exit(0));
}

/** Starts the bare server in its own process; `stop` ends it. */
export async function bareLongPollServer(): Promise<{ url: string; stop: () => void }> {
  const proc: ChildProcess = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "serve"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = await new Promise<string[]>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once("line", (l) => resolve([l]));
    proc.once("exit", (code) => reject(new Error(`bare long-poll server exited (${code})`)));
  });
  return { url: line!, stop: () => void proc.kill("SIGTERM") };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "serve") serve();
