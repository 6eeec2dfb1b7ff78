/**
 * @module The admin commands' exit codes (docs/cli.md, "Exit codes"), and how a Matrix error becomes one.
 *
 * Both modes end here: the HTTP mode with the server's `{"errcode","error"}`, the database mode with the
 * `MatrixError` the same service threw, so a script sees the same code for the same refusal in either mode.
 */
import { ErrCode } from "../../errors.js";
import { CliError, EXIT_FAILURE, EXIT_USAGE } from "../errors.js";

export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../errors.js";
export const EXIT_NOT_FOUND = 3;
export const EXIT_CONFLICT = 4;
export const EXIT_NOT_ALLOWED = 5;
export const EXIT_UNREACHABLE = 6;

/** A refusal from the admin API or its services, kept whole for scripts that read `--json` errors. */
export class AdminFailure extends CliError {
  constructor(
    readonly errcode: string,
    readonly error: string,
    readonly status: number,
  ) {
    super(`error: ${error} (${errcode})`, exitCodeFor(errcode, status, error));
  }
}

const NOT_FOUND: readonly string[] = [ErrCode.NotFound];
const CONFLICT: readonly string[] = [ErrCode.UserInUse, ErrCode.ThreepidInUse];
const INVALID_PARAM: readonly string[] = [ErrCode.InvalidParam];
const NOT_ALLOWED = new Set<string>([
  ErrCode.Forbidden,
  ErrCode.MissingToken,
  ErrCode.UnknownToken,
  ErrCode.UserLocked,
  ErrCode.UserDeactivated,
]);

/** Whether a failure carries `code` (errcodes arrive as plain strings over HTTP). */
export function hasErrcode(err: unknown, code: ErrCode): err is AdminFailure {
  return err instanceof AdminFailure && err.errcode === (code as string);
}

export function exitCodeFor(errcode: string, status: number, error: string): number {
  if (NOT_FOUND.includes(errcode)) return EXIT_NOT_FOUND;
  if (CONFLICT.includes(errcode) || status === 409) return EXIT_CONFLICT;
  // The registration-token API answers a taken name with M_INVALID_PARAM (Synapse's choice); it is a conflict.
  if (INVALID_PARAM.includes(errcode) && error.startsWith("Token already exists")) return EXIT_CONFLICT;
  if (NOT_ALLOWED.has(errcode) || status === 401 || status === 403) return EXIT_NOT_ALLOWED;
  return EXIT_FAILURE;
}

export function unreachable(message: string): CliError {
  return new CliError(`error: ${message}`, EXIT_UNREACHABLE);
}

export function configError(message: string): CliError {
  return new CliError(`error: ${message}`, EXIT_USAGE);
}
