/**
 * @module Where the client API lives: every client path under `r0`, `v3` and `unstable` (and `api/v1` for the
 * few endpoints Synapse still serves there), as clients old and new call them.
 */
const CLIENT = "/_matrix/client";

export function clientPaths(path: string, options: { apiV1?: boolean } = {}): string[] {
  const versions = ["r0", "v3", "unstable", ...(options.apiV1 ? ["api/v1"] : [])];
  return versions.map((v) => `${CLIENT}/${v}${path}`);
}

export const ADMIN = "/_synapse/admin";

/** Gatehouse's own admin endpoints (the audit log), beside Synapse's; served where `ADMIN` is. */
export const GATEHOUSE_ADMIN = "/_gatehouse/admin";

/** Synapse's path for Prometheus metrics, on a `type: metrics` listener or one with the `metrics` resource. */
export const METRICS_PATH = "/_synapse/metrics";
