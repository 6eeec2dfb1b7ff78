/**
 * @module The `--database-url` form of the `database` config section: parsed without loading any database driver,
 * so commands that only talk HTTP never pay for kysely and the drivers.
 */
import type { DatabaseConfig } from "./schema.js";

/**
 * Parses `--database-url`: `sqlite:///abs/path.db`, `sqlite://relative.db`, or `postgres://` /
 * `postgresql://user:pass@host:port/db` (a `?host=/socket/dir` query selects a UNIX socket).
 */
export function databaseConfigFromUrl(url: string): DatabaseConfig {
  if (url.startsWith("sqlite:")) {
    const path = url.replace(/^sqlite:(\/\/)?/, "");
    if (path === "") throw new Error("the sqlite URL names no file: use sqlite:///path/to/homeserver.db");
    return { name: "sqlite3", args: { database: path } };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error("the PostgreSQL URL is not a valid URL");
    }
    const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
    const host = u.searchParams.get("host") ?? (u.hostname ? decodeURIComponent(u.hostname) : null);
    return {
      name: "psycopg2",
      args: {
        user: u.username ? decodeURIComponent(u.username) : null,
        password: u.password ? decodeURIComponent(u.password) : null,
        database: database || "postgres",
        host: host?.replace(/^\[|\]$/g, "") ?? null,
        port: u.port ? Number(u.port) : null,
        cp_min: 0,
        cp_max: 10,
        connect_timeout: 5,
        statement_timeout: 30_000,
      },
    };
  }
  throw new Error("the database URL must start with sqlite:// or postgres://");
}
