/**
 * @module Every route module, in one list the server mounts.
 */
import type { RouteModule } from "../http/server.js";
import { registerRoutes } from "./admin/register.js";
import { serverVersionRoutes } from "./admin/server-version.js";
import { accountRoutes } from "./client/account.js";
import { versionsRoutes } from "./client/versions.js";

export const ROUTES: RouteModule[] = [versionsRoutes, accountRoutes, registerRoutes, serverVersionRoutes];
