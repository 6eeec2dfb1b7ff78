/**
 * The SQLite database holds password hashes and token hashes: its file and the `-wal`/`-shm` files beside it are
 * readable by their owner only, whatever the process umask.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { migrate, openDatabase } from "../../src/db/database.js";

describe("SQLite file modes", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("creates the database, -wal and -shm files 0600 under a permissive umask", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-modes-"));
    dirs.push(dir);
    const file = join(dir, "homeserver.db");
    const old = process.umask(0o022);
    try {
      const db = openDatabase({ name: "sqlite3", args: { database: file } });
      await migrate(db);
      const modes = ["", "-wal", "-shm"].map((s) => (statSync(file + s).mode & 0o777).toString(8));
      expect(modes).toEqual(["600", "600", "600"]);
      await db.close();
    } finally {
      process.umask(old);
    }
  });
});
