/**
 * @module `gatehouse admin-login`: logs in with an admin's password through the client API's `/login` and writes the
 * admin config file (mode 0600) the other admin commands read, so the token never has to be copied by hand or typed
 * on a command line.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { Command } from "commander";
import { stringify } from "yaml";
import { ErrCode } from "../../errors.js";
import { CliError, EXIT_USAGE, runCommand } from "../errors.js";
import { ask, askHidden } from "../prompts.js";
import { checkUrl, defaultAdminConfigPath } from "./connection.js";
import { EXIT_NOT_ALLOWED, hasErrcode } from "./exit-codes.js";
import { httpBackend, httpCall } from "./http-backend.js";
import { readPassword } from "./input.js";
import { cliIo } from "../io.js";

const LOGIN = "/_matrix/client/v3/login";
const LOGOUT = "/_matrix/client/v3/logout";

interface LoginFlags {
  url: string;
  user?: string;
  passwordFile?: string;
  adminConfig?: string;
}

export function defineAdminLogin(cmd: Command): Command {
  return cmd
    .description("Log in as an admin with a password and save the URL and token to the admin config file (mode 0600).")
    .requiredOption("--url <url>", "the server's base URL, e.g. https://matrix.example.com")
    .option("--user <user>", "the admin's localpart or user ID (asked for if omitted)")
    .option("--password-file <file>", "read the password from FILE; - reads standard input (asked for if omitted)")
    .option("--admin-config <file>", "where to write (default $XDG_CONFIG_HOME/gatehouse/admin.yaml)")
    .action((flags: LoginFlags) =>
      runCommand(async () => {
        const url = checkUrl(flags.url, "--url");
        const user = flags.user ?? (cliIo().stdin.isTTY ? await ask("Username: ") : null);
        if (!user) throw new CliError("error: --user is required when standard input is not a terminal", EXIT_USAGE);
        const password =
          flags.passwordFile !== undefined || !cliIo().stdin.isTTY
            ? (await readPassword({ passwordFile: flags.passwordFile })).password
            : await askHidden("Password: ");
        if (!password) throw new CliError("error: the password cannot be blank", EXIT_USAGE);

        const res = await httpCall<{ user_id: string; access_token: string }>(url, null, "POST", LOGIN, {
          type: "m.login.password",
          identifier: { type: "m.id.user", user },
          password,
          initial_device_display_name: `gatehouse CLI on ${hostname()}`,
        });
        const token = res.access_token;
        // A token of a non-admin would fail every admin command later; say so now, and end the session it made.
        try {
          await httpBackend(url, token).getUser(res.user_id);
        } catch (err) {
          await httpCall(url, token, "POST", LOGOUT, {}).catch(() => undefined);
          if (hasErrcode(err, ErrCode.Forbidden)) {
            throw new CliError(`error: ${res.user_id} is not a server admin`, EXIT_NOT_ALLOWED);
          }
          throw err;
        }
        const path = flags.adminConfig ?? defaultAdminConfigPath();
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        writeFileSync(path, stringify({ url, token }), { mode: 0o600 });
        // The mode of writeFileSync applies only to a new file; an old one may have been readable.
        chmodSync(path, 0o600);
        cliIo().stdout.write(`Logged in as ${res.user_id}; wrote ${path} (mode 0600)\n`);
      }),
    );
}
