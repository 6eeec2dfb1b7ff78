/**
 * Every method and path the real route modules register, collected by building an app with an onRoute hook
 * (no request is served, so nothing here touches the database or the limiter).
 */
import type { RouteOptions } from "fastify";
import type { RateLimiter } from "../../src/accounts/ratelimit.js";
import { ROUTES } from "../../src/api/routes.js";
import { buildHttpApp } from "../../src/http/server.js";
import type { RunningServer } from "../../src/server.js";

export interface Route {
  method: string;
  url: string;
}

export function registeredRoutes(running: RunningServer): Route[] {
  const seen: Route[] = [];
  let collecting = true;
  const collect = (route: RouteOptions) => {
    if (!collecting) return;
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      seen.push({ method, url: route.url });
    }
  };
  buildHttpApp(
    {
      config: running.config,
      accounts: running.accounts,
      rooms: running.rooms,
      media: running.media,
      limiter: null as unknown as RateLimiter,
    },
    [(app) => void app.addHook("onRoute", collect), ...ROUTES, () => void (collecting = false)],
  );
  return seen;
}
