/**
 * Terms at registration: `user_consent` with one policy file (version 1.0) in a fresh template directory, and the
 * `form_secret` its links are signed with.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./databases.js";

export function termsConfig(): Record<string, unknown> {
  const dir = tempDir();
  mkdirSync(join(dir, "en"));
  writeFileSync(join(dir, "en", "1.0.html"), "<h1>House rules</h1>");
  return {
    form_secret: "sign-up test form secret",
    user_consent: { version: "1.0", template_dir: dir, policy_name: "House Rules", require_at_registration: true },
  };
}
