/**
 * @module The mail outbox: a request writes its mail in its own transaction (`queueMail`), and the background job
 * sends what is due (`sendDueMail`), so no request waits on SMTP and an SMTP outage loses nothing. A mail that keeps
 * failing is tried `email.send_attempts` times with growing pauses, then logged and dropped.
 */
import { randomBytes } from "node:crypto";
import type { Tables } from "../db/stores.js";
import { ErrCode, MatrixError } from "../errors.js";
import { canonicalEmail } from "../shared/email.js";
import type { AccountsContext } from "./context.js";
import { headerText, type Mailer, type MailMessage } from "./mailer.js";

/** The first retry waits this long; each next one twice as long, up to `MAX_RETRY_DELAY_MS`. */
export const FIRST_RETRY_DELAY_MS = 30_000;
export const MAX_RETRY_DELAY_MS = 3_600_000;

export function retryDelay(failedAttempts: number): number {
  return Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** Math.max(0, failedAttempts - 1));
}

/**
 * Writes a mail to the outbox inside the caller's transaction. The caller calls `ctx.mailHooks.queued()` once its
 * transaction has committed.
 */
export async function queueMail(t: Tables, now: number, message: MailMessage): Promise<void> {
  const to = canonicalEmail(message.to);
  if (to === null) throw new MatrixError(ErrCode.InvalidParam, "Unable to parse email address");
  await t.emailOutbox.add({
    id: randomBytes(12).toString("hex"),
    recipient: to,
    subject: headerText(message.subject),
    text: message.text,
    html: message.html,
    createdTs: now,
    nextAttemptTs: now,
  });
}

/** An SMTP error as one line, without the mail: nodemailer's message and the server's reply code. */
function describeSendError(err: unknown): string {
  if (!(err instanceof Error)) return "a non-Error value was thrown";
  const { responseCode, code } = err as { code?: unknown; responseCode?: unknown };
  const prefix = typeof responseCode === "number" ? `${responseCode} ` : typeof code === "string" ? `${code} ` : "";
  const text = `${prefix}${err.message}`;
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * Sends up to `limit` due mails, one at a time; returns how many were handled (sent, rescheduled or dropped), so the
 * job's batches stop when a batch comes back short.
 */
export async function sendDueMail(
  ctx: AccountsContext,
  mailer: Mailer,
  sendAttempts: number,
  log: (message: string) => void,
  limit: number,
): Promise<number> {
  const due = await ctx.stores.emailOutbox.due(ctx.now(), limit);
  for (const mail of due) {
    try {
      await mailer.send({ to: mail.recipient, subject: mail.subject, text: mail.text, html: mail.html });
      await ctx.stores.emailOutbox.delete(mail.id);
    } catch (err) {
      const failed = mail.attempts + 1;
      const reason = describeSendError(err);
      if (failed >= sendAttempts) {
        log(`e-mail ${mail.id} dropped after ${failed} failed attempts: ${reason}`);
        await ctx.stores.emailOutbox.delete(mail.id);
      } else {
        await ctx.stores.emailOutbox.failed(mail.id, ctx.now() + retryDelay(failed), reason);
      }
    }
  }
  return due.length;
}
