/**
 * Starts a throwaway PostgreSQL cluster for the whole run (or uses GATEHOUSE_TEST_PG_URL if set), so every store
 * test runs on a real PostgreSQL as well as SQLite. As root, the server runs as the `postgres` user.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

function pgBinDir(): string {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(root, v, "bin", "initdb"))) return join(root, v, "bin");
  }
  throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install -y postgresql");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Room the suite's cluster may need in memory: a run creates a few hundred databases of about 7.5 MB each. */
const IN_MEMORY_MIN_FREE = 6 * 2 ** 30;

/**
 * Where the cluster's directory goes: the system's temporary directory, or, with `inMemory`, /dev/shm when it is a
 * tmpfs with room to spare. A test run copies its template database a few hundred times (gigabytes of files on
 * disk, and as many to delete at the end, which took minutes on a disk mounted with `discard`); in memory both cost
 * next to nothing.
 */
function clusterParent(inMemory: boolean): string {
  if (inMemory && existsSync("/dev/shm")) {
    try {
      const fs = statfsSync("/dev/shm");
      if (fs.bavail * fs.bsize >= IN_MEMORY_MIN_FREE) return "/dev/shm";
    } catch {
      // Not a file system we can ask about: use the temporary directory.
    }
  }
  return tmpdir();
}

/**
 * Starts a throwaway cluster in a temporary directory (trust authentication, C locale, no durability), returning its
 * superuser URL and a function that stops it and deletes the directory. The benchmarks use it too (on disk, as a
 * real server runs); `settings` are extra `-c` options; `inMemory` puts it on /dev/shm when there is room.
 */
export async function startThrowawayPostgres(
  settings: string[] = [],
  where: { inMemory?: boolean } = {},
): Promise<{
  url: string;
  stop: () => void;
  /** Stops the server but keeps the cluster (`pg_ctl stop -m <mode>`), to start it again with `resume`. */
  pause: (mode?: "smart" | "fast" | "immediate") => void;
  resume: () => void;
}> {
  const bin = pgBinDir();
  const dir = mkdtempSync(join(clusterParent(where.inMemory ?? false), "gatehouse-pg-"));
  const data = join(dir, "data");
  const isRoot = process.getuid?.() === 0;
  const asPg = (cmd: string, args: string[]) => {
    const full = join(bin, cmd);
    const r = isRoot
      ? spawnSync("runuser", ["-u", "postgres", "--", full, ...args], { encoding: "utf8" })
      : spawnSync(full, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
  };
  if (isRoot)
    chownSync(
      dir,
      Number(execFileSync("id", ["-u", "postgres"]).toString().trim()),
      Number(execFileSync("id", ["-g", "postgres"]).toString().trim()),
    );
  asPg("initdb", ["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "-D", data]);
  const port = await freePort();
  const options = [
    `-h 127.0.0.1 -p ${port} -k ${dir} -F -c max_connections=400 -c full_page_writes=off -c synchronous_commit=off`,
    ...settings.map((s) => `-c ${s}`),
  ].join(" ");
  const start = () => asPg("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-w", "-o", options, "start"]);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pause: (mode = "fast") => asPg("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"]),
    resume: start,
    stop() {
      try {
        asPg("pg_ctl", ["-D", data, "-m", "immediate", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export default async function setup(project: TestProject): Promise<() => void> {
  if (process.env.GATEHOUSE_TEST_PG_URL) {
    project.provide("pgUrl", process.env.GATEHOUSE_TEST_PG_URL);
    return () => {};
  }
  const cluster = await startThrowawayPostgres([], { inMemory: true });
  project.provide("pgUrl", cluster.url);
  return cluster.stop;
}
