/**
 * @module The job that sends the mail outbox (src/accounts/email-outbox.ts). It runs every half minute for retries,
 * and at once when a request has queued a mail (`JobRunner.wake`).
 */
import type { AccountsContext } from "../accounts/context.js";
import { sendDueMail } from "../accounts/email-outbox.js";
import { purgeExpiredValidationSessions } from "../accounts/threepid-validation.js";
import type { Mailer } from "../accounts/mailer.js";
import { inBatches, type Job } from "./runner.js";

export const SEND_EMAIL_JOB = "send_email";

export function emailJobs(
  accounts: AccountsContext,
  mailer: Mailer,
  sendAttempts: number,
  log: (message: string) => void,
): Job[] {
  return [
    {
      name: SEND_EMAIL_JOB,
      intervalMs: 30_000,
      run: async (r) => {
        const summary = await inBatches(r, (n) => sendDueMail(accounts, mailer, sendAttempts, log, n), 20);
        return summary.replace("deleted", "handled");
      },
    },
    {
      name: "purge_threepid_validation_sessions",
      intervalMs: 60 * 60_000,
      run: (r) => inBatches(r, (n) => purgeExpiredValidationSessions({ accounts }, n)),
    },
  ];
}
