/**
 * @module `gatehouse user import FILE.csv`: the CSV runner (src/cli/user-import.ts) with the admin commands'
 * connection, so an import goes to a running server's import endpoint or straight to the database, as the flags say.
 */
import type { Command } from "commander";
import type { OnConflict } from "../../accounts/import-rows.js";
import { CliError, EXIT_USAGE, runCommand } from "../errors.js";
import { databaseImporter, defineUserImport, httpImporter, runUserImport } from "../user-import.js";
import { addConnectionOptions, resolveAdminConnection } from "./connection.js";
import type { CommonFlags } from "./run.js";

interface ImportFlags extends CommonFlags {
  dryRun?: boolean;
  onConflict: OnConflict;
  generatePasswords?: string;
  batchSize: number;
}

export function defineImport(user: Command): void {
  addConnectionOptions(defineUserImport(user.command("import"))).action((file: string, flags: ImportFlags) =>
    runCommand(async () => {
      if (flags.tokenFile === "-" && file === "-") {
        throw new CliError("error: --token-file - and the CSV file cannot both be standard input", EXIT_USAGE);
      }
      const options = {
        file,
        dryRun: flags.dryRun ?? false,
        onConflict: flags.onConflict,
        generatePasswords: flags.generatePasswords ?? null,
        batchSize: flags.batchSize,
        json: flags.json ?? false,
      };
      const connection = await resolveAdminConnection(flags);
      if (connection.kind === "http") return runUserImport(httpImporter(connection.baseUrl, connection.token), options);
      try {
        return await runUserImport(databaseImporter(connection.ctx, connection.actor), options);
      } finally {
        await connection.close();
      }
    }),
  );
}
