/**
 * Helpers shared by the account-service suites: catching the `MatrixError` a call refuses with, and comparing it.
 */
import { expect } from "vitest";
import { MatrixError, type ErrCode } from "../../src/errors.js";

/**
 * The `MatrixError` that `call` refuses with; fails the test if it succeeds or throws anything else. Takes a
 * function for checks that throw synchronously, or a promise.
 */
export async function refusal(call: Promise<unknown> | (() => unknown)): Promise<MatrixError> {
  try {
    await (typeof call === "function" ? call() : call);
  } catch (err) {
    if (err instanceof MatrixError) return err;
    throw err;
  }
  throw new Error("expected a MatrixError, but the call succeeded");
}

export function expectError(err: MatrixError, errcode: ErrCode, message: string, status = 400): void {
  expect({ errcode: err.errcode, message: err.message, status: err.status }).toEqual({ errcode, message, status });
}
