/**
 * Builds the web pages (dist/web) for the browser tests, once per run and only when test/web/ is in it: `npm test`
 * compiles the server alone, so the other tests never wait for Vite. `npm run build` still builds everything.
 */
import { build } from "vite";

export default async function setup(): Promise<void> {
  await build({ configFile: new URL("../../web/vite.config.ts", import.meta.url).pathname, logLevel: "warn" });
}
