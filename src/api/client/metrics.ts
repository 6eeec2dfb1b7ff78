/**
 * @module Prometheus metrics on an HTTP listener that lists the `metrics` resource (Synapse's second way; its
 * first, a `type: metrics` listener, is opened in src/http/listeners.ts). Off unless `enable_metrics: true`.
 */
import { ErrCode, MatrixError } from "../../errors.js";
import { METRICS_PATH } from "../../http/paths.js";
import type { RouteModule } from "../../http/server.js";
import { createServerMetrics, METRICS_CONTENT_TYPE } from "../../metrics/metrics.js";

export const metricsRoutes: RouteModule = (app, { config, metrics = createServerMetrics(null) }) => {
  // GET /_synapse/metrics (Synapse's path; the listener's resources decide where it is reachable)
  app.get(METRICS_PATH, async (_request, reply) => {
    if (!config.enable_metrics) throw new MatrixError(ErrCode.Unrecognized, "Unrecognized request");
    return reply.type(METRICS_CONTENT_TYPE).send(await metrics.text());
  });
};
