/**
 * `npm run bench -- send`: the statements and main-thread CPU milliseconds of one `PUT /send` into a room, as the
 * room grows (`BENCH_SEND_MEMBERS`, default `20,100,200` joined members besides the sender, nobody polling), on
 * SQLite and PostgreSQL (`BENCH_ROOM_DATABASES`). The server runs in this process, so every statement is counted:
 * SQLite's runs of prepared statements, PostgreSQL's queries on any pool connection (each one a round trip).
 * Work per send, unlike its latency, does not change with the machine's load. `BENCH_SEND_PROFILE=dir` writes a CPU
 * profile of each figure's sends (and of nothing else) there, for Chrome's DevTools or `speedscope`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { databaseConfigFromUrl } from "../src/config/database-url.js";
import { startServer } from "../src/server.js";
import { startThrowawayPostgres } from "../test/setup/postgres.js";
import { configFrom, rawConfigFor } from "../test/helpers/server.js";
import { BenchClient } from "./client.js";
import type { Row } from "./table.js";

const C = "/_matrix/client/v3";
const UNLIMITED = { per_second: 1e6, burst_count: 1e6 };
const SENDS = Number(process.env.BENCH_SEND_ROUNDS ?? 30);
const PROFILE_DIR = process.env.BENCH_SEND_PROFILE;

let statements = 0;
/** The SQL of the statements counted, when `BENCH_SEND_STATEMENTS` asks for the list of the last send's. */
let texts: string[] | null = null;
const sqlOf = (s: unknown) =>
  typeof s === "string" ? s : ((s as { text?: string; source?: string }).text ?? (s as { source?: string }).source);
function countStatements(): void {
  const probe = new Database(":memory:");
  const proto = Object.getPrototypeOf(probe.prepare("select 1")) as Record<string, (...args: unknown[]) => unknown>;
  probe.close();
  for (const method of ["all", "get", "run", "iterate"]) {
    const original = proto[method]!;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      statements++;
      texts?.push(String(sqlOf(this)));
      return original.apply(this, args);
    };
  }
  const clientProto = pg.Client.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const query = clientProto.query!;
  clientProto.query = function (this: unknown, ...args: unknown[]) {
    statements++;
    texts?.push(String(sqlOf(args[0])));
    return query.apply(this, args);
  };
}

async function sendFigures(kind: "SQLite" | "PostgreSQL", database: Record<string, unknown>) {
  const raw = rawConfigFor(
    { kind: "sqlite", url: "", config: { name: "sqlite3", args: { database: "" } } },
    {
      database,
      enable_registration: true,
      enable_registration_without_verification: true,
      rc_registration: UNLIMITED,
      rc_message: UNLIMITED,
      rc_joins: { local: UNLIMITED },
    },
  );
  const server = await startServer(configFrom(raw), () => {});
  const client = new BenchClient(server.addresses[0]!.url, 8);
  const rows: Row[] = [];
  try {
    let n = 0;
    const register = async () => {
      const r = await client.call<{ user_id: string; access_token: string }>("POST", `${C}/register`, null, {
        username: `u${n++}`,
        password: "bench password",
        auth: { type: "m.login.dummy" },
      });
      return { userId: r.user_id, token: r.access_token };
    };
    const sender = await register();
    const { room_id: roomId } = await client.call<{ room_id: string }>("POST", `${C}/createRoom`, sender.token, {
      preset: "public_chat",
    });
    const path = `${C}/rooms/${encodeURIComponent(roomId)}`;
    let txn = 0;
    const send = () =>
      client.call("PUT", `${path}/send/m.room.message/s${txn++}`, sender.token, { msgtype: "m.text", body: "hi" });
    let joined = 0;
    for (const target of (process.env.BENCH_SEND_MEMBERS ?? "20,100,200").split(",").map(Number)) {
      for (; joined < target; joined++) {
        const m = await register();
        await client.call("POST", `${path}/join`, m.token, {});
      }
      for (let i = 0; i < 5; i++) await send();
      const profiler = PROFILE_DIR ? new Session() : null;
      if (profiler) {
        profiler.connect();
        await profiler.post("Profiler.enable");
        await profiler.post("Profiler.start");
      }
      const s0 = statements;
      const c0 = process.cpuUsage();
      for (let i = 0; i < SENDS; i++) await send();
      const c = process.cpuUsage(c0);
      if (profiler) {
        const { profile } = await profiler.post("Profiler.stop");
        writeFileSync(join(PROFILE_DIR!, `send-${kind}-${target}.cpuprofile`), JSON.stringify(profile));
        profiler.disconnect();
      }
      if (process.env.BENCH_SEND_STATEMENTS) {
        texts = [];
        await send();
        console.log(
          `the statements of one send, ${target} members (${kind}):\n${texts.map((t) => `  ${t.slice(0, 160)}`).join("\n")}`,
        );
        texts = null;
      }
      rows.push({
        figure: `statements / CPU ms per send, room of ${target} members + sender (${kind})`,
        value: `${((statements - s0) / SENDS).toFixed(1)} / ${((c.user + c.system) / 1000 / SENDS).toFixed(2)}`,
        ceiling: "",
        ratio: "",
        target: "",
      });
    }
  } finally {
    client.close();
    await server.close();
  }
  return rows;
}

export async function sendCostFigures(): Promise<Row[]> {
  countStatements();
  const kinds = (process.env.BENCH_ROOM_DATABASES ?? "SQLite,PostgreSQL").split(",");
  const rows: Row[] = [];
  if (kinds.includes("SQLite")) {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-send-"));
    try {
      rows.push(...(await sendFigures("SQLite", { name: "sqlite3", args: { database: join(dir, "h.db") } })));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (kinds.includes("PostgreSQL")) {
    const cluster = await startThrowawayPostgres();
    try {
      const admin = new pg.Client({ connectionString: cluster.url });
      await admin.connect();
      await admin.query("CREATE DATABASE gh_send_bench");
      await admin.end();
      const url = new URL(cluster.url);
      url.pathname = "/gh_send_bench";
      const config = databaseConfigFromUrl(url.toString());
      const args = config.args as Record<string, unknown>;
      rows.push(
        ...(await sendFigures("PostgreSQL", {
          name: "psycopg2",
          args: {
            user: args.user,
            password: args.password,
            dbname: args.database,
            host: args.host,
            port: args.port,
            cp_min: 1,
            cp_max: 10,
          },
        })),
      );
    } finally {
      cluster.stop();
    }
  }
  return rows;
}
