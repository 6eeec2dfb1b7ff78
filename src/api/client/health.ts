/**
 * @module `GET /health` for load balancers and service managers, on every listener as Synapse has it.
 *
 * It asks the database one primary-key read, so a process whose database is gone is taken out of rotation; it is
 * unauthenticated, not rate limited and not logged at info (a probe every second would drown the log).
 */
import type { RouteModule } from "../../http/server.js";

/** A load balancer's probe usually gives up after a few seconds; answer before it does. */
export const HEALTH_TIMEOUT_MS = 2_000;

export const HEALTH_PATH = "/health";

export const healthRoutes: RouteModule = (app, { accounts }) => {
  // GET /health (Synapse: 200 "OK")
  app.get(HEALTH_PATH, async (_request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), HEALTH_TIMEOUT_MS)));
    const query = accounts.stores.serverMeta.get("server_name").then(
      () => true,
      () => false,
    );
    const ok = await Promise.race([query, timeout]).finally(() => clearTimeout(timer));
    reply.header("cache-control", "no-store").type("text/plain; charset=utf-8");
    return ok ? reply.status(200).send("OK") : reply.status(503).send("Database unavailable");
  });
};
