/**
 * @module The frame of every admin command: connect, run the body against the backend, close, exit with the
 * documented code.
 */
import { CliError, EXIT_USAGE, runCommand } from "../errors.js";
import type { AdminBackend } from "./backend.js";
import { openBackend, type ConnectionFlags } from "./connection.js";

export interface CommonFlags extends ConnectionFlags {
  json?: boolean;
}

export function runAdmin(flags: CommonFlags, body: (backend: AdminBackend) => Promise<void>): Promise<never> {
  return runCommand(async () => {
    // Standard input can be read once: the token would take it all and leave the password empty.
    if (flags.tokenFile === "-" && (flags as { passwordFile?: string }).passwordFile === "-") {
      throw new CliError("error: --token-file - and --password-file - cannot both read standard input", EXIT_USAGE);
    }
    const backend = await openBackend(flags);
    try {
      await body(backend);
      return undefined;
    } finally {
      await backend.close();
    }
  });
}
